package test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/quarantine"
)

// annotate merge-patches annotations (nil removes one) as the given client's user.
func annotate(ctx context.Context, c client.Client, obj client.Object, kv map[string]*string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

func str(s string) *string { return &s }

// impersonate returns a client acting as user.
func impersonate(t testing.TB, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func quarantinedLabel(ctx context.Context, name types.NamespacedName) (bool, error) {
	var p corev1.Pod
	if err := k8s.Get(ctx, name, &p); err != nil {
		return false, err
	}
	return p.Labels[v1alpha1.LabelQuarantined] == "true", nil
}

func policiesIn(ctx context.Context, t testing.TB, ns string) []*networkingv1.NetworkPolicy {
	t.Helper()
	var l networkingv1.NetworkPolicyList
	if err := k8s.List(ctx, &l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := make([]*networkingv1.NetworkPolicy, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out
}

// quarantineFixture: an enforce namespace with a victim pod, a sibling of the same app, and an
// egress-proxy pod, under a policy whose quarantine admin is bob.
type quarantineFixture struct {
	ns                     string
	victim, sibling, proxy *corev1.Pod
	al                     *testAirlock
}

func newQuarantineFixture(t *testing.T) *quarantineFixture {
	t.Helper()
	f := newAdmissionFixture(t)
	createPolicies(t, f.key, f.reg.Host)
	var strict v1alpha1.AirlockPolicy
	ctx := testContext(t)
	if err := k8s.Get(ctx, client.ObjectKey{Name: "strict"}, &strict); err != nil {
		t.Fatal(err)
	}
	strict.Spec.Quarantine.Admins = v1alpha1.QuarantineAdmins{Users: []string{"bob"}, Groups: []string{"secops"}}
	if err := k8s.Update(ctx, &strict); err != nil {
		t.Fatal(err)
	}
	qf := &quarantineFixture{al: startAirlock(t, f.reg)}
	qf.ns = newNamespace(t, v1alpha1.ModeEnforce, nil)
	waitForWebhook(t, qf.ns, f.untrusted)
	mk := func(name string, labels map[string]string) *corev1.Pod {
		p := pod(name, f.signed)
		p.Labels = labels
		p.Spec.ServiceAccountName = "app"
		if err := createIn(ctx, k8s, qf.ns, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	qf.victim = mk("victim", map[string]string{"app": "web"})
	qf.sibling = mk("sibling", map[string]string{"app": "web"})
	qf.proxy = mk("proxy", map[string]string{quarantine.ProxyLabel: quarantine.ProxyLabelValue})
	// alice, bob, carol and the pods' service account may all edit pods here; only the policy
	// decides who may lift a quarantine.
	editor := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pod-editor-" + qf.ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "patch", "update"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pod-editor-" + qf.ns},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: editor.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"}, {Kind: "User", Name: "carol"},
			{Kind: "ServiceAccount", Name: "app", Namespace: qf.ns}}}
	for _, o := range []client.Object{editor, binding} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
	}
	return qf
}

func TestQuarantineIsolatesAndReleases(t *testing.T) {
	qf := newQuarantineFixture(t)
	ctx := testContext(t)
	admin := whoAmI(t, env.Config)
	if err := annotate(ctx, k8s, qf.victim, map[string]*string{
		v1alpha1.AnnotationQuarantine: str("true"), v1alpha1.AnnotationQuarantineReason: str("beaconing to a known C2 host"),
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "victim labelled", func(ctx context.Context) (bool, error) {
		return quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.victim))
	})
	eventually(t, "NetworkPolicy created", func(ctx context.Context) (bool, error) {
		return len(policiesIn(ctx, t, qf.ns)) == 1, nil
	})
	if q, _ := quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.sibling)); q {
		t.Error("the sibling was quarantined too")
	}
	// Without Cilium's CRD, the NetworkPolicy is all there is.
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(env.Config, hc)
	if err != nil {
		t.Fatal(err)
	}
	if cilium, err := quarantine.CiliumInstalled(mapper); err != nil || cilium {
		t.Errorf("Cilium detected without its CRD (%v)", err)
	}
	var victim corev1.Pod
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(qf.victim), &victim); err != nil {
		t.Fatal(err)
	}
	if victim.Annotations[v1alpha1.AnnotationQuarantinedBy] != admin || victim.Annotations[v1alpha1.AnnotationQuarantinedAt] == "" {
		t.Errorf("audit annotations: %v (want quarantined-by %s and quarantined-at)", victim.Annotations, admin)
	}
	waitForEvent(t, qf.ns, "victim", quarantine.ReasonQuarantined)

	// What the policy means, evaluated by cyclonus' NetworkPolicy matcher, not read off its YAML.
	m := matcher.BuildNetworkPolicies(true, policiesIn(ctx, t, qf.ns))
	nsLabels := func(ns string) map[string]string { return map[string]string{"kubernetes.io/metadata.name": ns} }
	peer := func(ns string, labels map[string]string) *matcher.TrafficPeer {
		return &matcher.TrafficPeer{Internal: &matcher.InternalPeer{Namespace: ns, NamespaceLabels: nsLabels(ns), PodLabels: labels}, IP: "10.0.0.1"}
	}
	victimPeer := peer(qf.ns, victim.Labels)
	siblingPeer := peer(qf.ns, qf.sibling.Labels)
	dns := peer("kube-system", map[string]string{"k8s-app": "kube-dns"})
	proxy := peer(qf.ns, qf.proxy.Labels)
	outside := &matcher.TrafficPeer{IP: "203.0.113.7"}
	other := peer("elsewhere", map[string]string{"app": "x"})
	airlockPod := peer(airlockNamespace, map[string]string{"app.kubernetes.io/name": "airlock"})
	cases := []struct {
		name     string
		from, to *matcher.TrafficPeer
		port     int
		proto    corev1.Protocol
		allowed  bool
	}{
		{"sibling to victim", siblingPeer, victimPeer, 8080, corev1.ProtocolTCP, false},
		{"other namespace to victim", other, victimPeer, 8080, corev1.ProtocolTCP, false},
		{"outside to victim", outside, victimPeer, 8080, corev1.ProtocolTCP, false},
		{"airlock to victim (health checks)", airlockPod, victimPeer, 8080, corev1.ProtocolTCP, true},
		{"victim to DNS over UDP", victimPeer, dns, 53, corev1.ProtocolUDP, true},
		{"victim to DNS over TCP", victimPeer, dns, 53, corev1.ProtocolTCP, true},
		{"victim to DNS pods on another port", victimPeer, dns, 8053, corev1.ProtocolUDP, false},
		{"victim to the egress proxy", victimPeer, proxy, 3128, corev1.ProtocolTCP, true},
		{"victim to the internet", victimPeer, outside, 443, corev1.ProtocolTCP, false},
		{"victim to its sibling", victimPeer, siblingPeer, 8080, corev1.ProtocolTCP, false},
		{"victim to another namespace", victimPeer, other, 443, corev1.ProtocolTCP, false},
		{"sibling to the internet", siblingPeer, outside, 443, corev1.ProtocolTCP, true},
		{"sibling from another namespace", other, siblingPeer, 8080, corev1.ProtocolTCP, true},
		{"sibling to sibling", siblingPeer, siblingPeer, 8080, corev1.ProtocolTCP, true},
	}
	for _, c := range cases {
		got := m.IsTrafficAllowed(&matcher.Traffic{Source: c.from, Destination: c.to, ResolvedPort: c.port, Protocol: c.proto}).IsAllowed()
		if got != c.allowed {
			t.Errorf("%s: allowed=%t, want %t", c.name, got, c.allowed)
		}
	}

	// Release by an admin: zero residue.
	if err := annotate(ctx, impersonate(t, "bob"), qf.victim, map[string]*string{v1alpha1.AnnotationQuarantine: nil}); err != nil {
		t.Fatalf("admin release: %v", err)
	}
	eventually(t, "release leaves no residue", func(ctx context.Context) (bool, error) {
		var p corev1.Pod
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(qf.victim), &p); err != nil {
			return false, err
		}
		for k := range p.Annotations {
			if strings.HasPrefix(k, "airlock.dev/quarantine") {
				return false, nil
			}
		}
		_, labelled := p.Labels[v1alpha1.LabelQuarantined]
		return !labelled && len(policiesIn(ctx, t, qf.ns)) == 0, nil
	})
	waitForEvent(t, qf.ns, "victim", quarantine.ReasonReleased)
}

func TestQuarantineGuard(t *testing.T) {
	qf := newQuarantineFixture(t)
	ctx := testContext(t)
	podSA := "system:serviceaccount:" + qf.ns + ":app"
	alice, bob, self := impersonate(t, "alice"), impersonate(t, "bob"), impersonate(t, podSA, "system:serviceaccounts")
	carolSecops := impersonate(t, "carol", "secops")

	// Anyone allowed to edit the pod may ask for quarantine.
	if err := annotate(ctx, alice, qf.victim, map[string]*string{v1alpha1.AnnotationQuarantine: str("true")}); err != nil {
		t.Fatalf("alice asking for quarantine: %v", err)
	}
	eventually(t, "victim labelled", func(ctx context.Context) (bool, error) {
		return quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.victim))
	})
	var p corev1.Pod
	_ = k8s.Get(ctx, client.ObjectKeyFromObject(qf.victim), &p)
	if p.Annotations[v1alpha1.AnnotationQuarantinedBy] != "alice" {
		t.Errorf("quarantined-by = %q, want alice", p.Annotations[v1alpha1.AnnotationQuarantinedBy])
	}

	denied := func(who string, c client.Client, kv map[string]*string, want string) {
		t.Helper()
		err := annotate(ctx, c, qf.victim, kv)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want Forbidden mentioning %q", who, err, want)
		}
	}
	denied("alice releasing", alice, map[string]*string{v1alpha1.AnnotationQuarantine: nil}, "spec.quarantine.admins")
	denied("alice setting false", alice, map[string]*string{v1alpha1.AnnotationQuarantine: str("false")}, "spec.quarantine.admins")
	denied("alice rewriting the requester", alice, map[string]*string{v1alpha1.AnnotationQuarantinedBy: str("mallory")}, "spec.quarantine.admins")
	denied("the pod's own service account releasing", self, map[string]*string{v1alpha1.AnnotationQuarantine: nil}, "can never release itself")
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{v1alpha1.LabelQuarantined: nil}}})
	if err := bob.Patch(ctx, qf.victim, client.RawPatch(types.MergePatchType, patch)); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "only Airlock sets") {
		t.Errorf("bob removing the label: %v, want Forbidden", err)
	}
	if q, _ := quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.victim)); !q {
		t.Fatal("the quarantine was lifted by a refused request")
	}
	// A quarantine admin by group may release.
	if err := annotate(ctx, carolSecops, qf.victim, map[string]*string{v1alpha1.AnnotationQuarantine: nil}); err != nil {
		t.Fatalf("admin (group secops) release: %v", err)
	}
	eventually(t, "released", func(ctx context.Context) (bool, error) {
		q, err := quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.victim))
		return !q, err
	})
}

func TestQuarantineTTL(t *testing.T) {
	qf := newQuarantineFixture(t)
	ctx := testContext(t)
	if err := annotate(ctx, k8s, qf.victim, map[string]*string{v1alpha1.AnnotationQuarantine: str("true"), quarantine.AnnotationTTL: str("2s")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "labelled", func(ctx context.Context) (bool, error) {
		return quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.victim))
	})
	eventually(t, "released when the TTL passes", func(ctx context.Context) (bool, error) {
		q, err := quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.victim))
		return !q && err == nil && len(policiesIn(ctx, t, qf.ns)) == 0, err
	})
	waitForEvent(t, qf.ns, "victim", quarantine.ReasonTTLExpired)
}

// ownedPods creates a Deployment with a ReplicaSet and n pods owned through it, as the
// Deployment and ReplicaSet controllers (absent from this control plane) would.
func ownedPods(t testing.TB, ns, name, image string, n int) (*appsv1.Deployment, []*corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	d := deployment(name, image)
	if err := createIn(ctx, k8s, ns, d); err != nil {
		t.Fatal(err)
	}
	ctrlTrue := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name + "-1", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &ctrlTrue}}},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if err := createIn(ctx, k8s, ns, rs); err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	for i := range n {
		p := pod(fmt.Sprintf("%s-%d", name, i), image)
		p.Labels = d.Spec.Template.Labels
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &ctrlTrue}}
		if err := createIn(ctx, k8s, ns, p); err != nil {
			t.Fatal(err)
		}
		pods = append(pods, p)
	}
	return d, pods
}

// TestQuarantineConvergesAcrossRestarts quarantines a Deployment while the controller is stopped
// mid-way, and two pods at once: a new controller converges to the same state, with one policy.
func TestQuarantineConvergesAcrossRestarts(t *testing.T) {
	qf := newQuarantineFixture(t)
	ctx := testContext(t)
	d, pods := ownedPods(t, qf.ns, "api", qf.victim.Spec.Containers[0].Image, 3)
	if err := annotate(ctx, k8s, d, map[string]*string{v1alpha1.AnnotationQuarantine: str("true")}); err != nil {
		t.Fatal(err)
	}
	qf.al.Stop() // mid-way: some, all or none of the pods may be labelled
	f := newAdmissionFixture(t)
	startAirlock(t, f.reg)
	var wg sync.WaitGroup
	for _, p := range []*corev1.Pod{qf.victim, qf.sibling} {
		wg.Go(func() {
			if err := annotate(ctx, k8s, p, map[string]*string{v1alpha1.AnnotationQuarantine: str("true")}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	eventually(t, "every quarantined pod labelled, once", func(ctx context.Context) (bool, error) {
		for _, p := range append(pods, qf.victim, qf.sibling) {
			if q, err := quarantinedLabel(ctx, client.ObjectKeyFromObject(p)); !q || err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if q, _ := quarantinedLabel(ctx, client.ObjectKeyFromObject(qf.proxy)); q {
		t.Error("the proxy pod was quarantined")
	}
	if nps := policiesIn(ctx, t, qf.ns); len(nps) != 1 || nps[0].Name != quarantine.PolicyName {
		t.Errorf("%d NetworkPolicies, want exactly one %s", len(nps), quarantine.PolicyName)
	}
	var dep appsv1.Deployment
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), &dep); err != nil {
		t.Fatal(err)
	}
	if dep.Annotations[v1alpha1.AnnotationQuarantinedAt] == "" {
		t.Error("the Deployment does not record when its quarantine began")
	}
	// A new pod of the quarantined Deployment is labelled at admission, before any reconcile.
	late := pod("api-late", qf.victim.Spec.Containers[0].Image)
	var rs appsv1.ReplicaSet
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: qf.ns, Name: "api-1"}, &rs); err != nil {
		t.Fatal(err)
	}
	ctrlTrue := true
	late.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &ctrlTrue}}
	if err := createIn(ctx, k8s, qf.ns, late); err != nil {
		t.Fatal(err)
	}
	if late.Labels[v1alpha1.LabelQuarantined] != "true" {
		t.Errorf("a new pod of a quarantined Deployment was created without the label: %v", late.Labels)
	}
}
