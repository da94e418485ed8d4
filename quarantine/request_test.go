package quarantine

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestRequestOf(t *testing.T) {
	at := "2026-12-01T10:00:00Z"
	cases := []struct {
		name    string
		ann     map[string]string
		want    bool
		ttl     time.Duration
		ttlErr  bool
		expires bool
	}{
		{"none", nil, false, 0, false, false},
		{"false", map[string]string{"airlock.dev/quarantine": "false"}, false, 0, false, false},
		{"TRUE is not true", map[string]string{"airlock.dev/quarantine": "TRUE"}, false, 0, false, false},
		{"true", map[string]string{"airlock.dev/quarantine": "true"}, true, 0, false, false},
		{"ttl not yet started", map[string]string{"airlock.dev/quarantine": "true", AnnotationTTL: "1h"}, true, time.Hour, false, false},
		{"ttl started", map[string]string{"airlock.dev/quarantine": "true", AnnotationTTL: "1h", "airlock.dev/quarantined-at": at}, true, time.Hour, false, true},
		{"bad ttl holds forever", map[string]string{"airlock.dev/quarantine": "true", AnnotationTTL: "a day", "airlock.dev/quarantined-at": at}, true, 0, true, false},
		{"negative ttl", map[string]string{"airlock.dev/quarantine": "true", AnnotationTTL: "-1h"}, true, 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := requestOf(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: c.ann}})
			if (r != nil) != c.want {
				t.Fatalf("request = %v, want %t", r, c.want)
			}
			if r == nil {
				return
			}
			if r.ttl != c.ttl || (r.ttlErr != nil) != c.ttlErr {
				t.Errorf("ttl %s (err %v), want %s (err %t)", r.ttl, r.ttlErr, c.ttl, c.ttlErr)
			}
			end, ok := r.expiry()
			if ok != c.expires || (ok && !end.Equal(time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC))) {
				t.Errorf("expiry %s %t, want %t", end, ok, c.expires)
			}
		})
	}
	pod := &corev1.Pod{}
	owner := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "owner", Annotations: map[string]string{"airlock.dev/quarantine": "true"}}}
	if r := firstRequest([]client.Object{pod, owner}); r == nil || r.holder != owner {
		t.Errorf("a workload's quarantine does not reach its pod")
	}
}

func TestPolicyRendering(t *testing.T) {
	i := Isolation{IngressFromNamespace: "airlock-system"}
	np := i.NetworkPolicy("team-a")
	if np.Spec.PodSelector.MatchLabels["airlock.dev/quarantined"] != "true" || len(np.Spec.PolicyTypes) != 2 {
		t.Errorf("NetworkPolicy selects %v with %v", np.Spec.PodSelector, np.Spec.PolicyTypes)
	}
	cnp, err := i.CiliumNetworkPolicy("team-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(cnp.Spec.Egress) != 2 || len(cnp.Spec.Ingress) != 1 {
		t.Errorf("CiliumNetworkPolicy rules: %d egress, %d ingress", len(cnp.Spec.Egress), len(cnp.Spec.Ingress))
	}
	noIngress, err := Isolation{}.CiliumNetworkPolicy("team-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(noIngress.Spec.Ingress) != 1 || len(noIngress.Spec.Ingress[0].FromEndpoints) != 0 {
		t.Errorf("without an ingress allowance the policy must still enforce ingress with an empty rule: %+v", noIngress.Spec.Ingress)
	}
}
