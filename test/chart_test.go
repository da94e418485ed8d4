package test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/test/controlplane"
)

// renderChart renders charts/airlock with the helm binary that `make tools` builds.
func renderChart(t *testing.T, args ...string) []client.Object {
	t.Helper()
	helm := filepath.Join(controlplane.Root(), "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("%s missing: run `make tools`: %v", helm, err)
	}
	cmd := exec.Command(helm, append([]string{"template", "airlock", filepath.Join(controlplane.Root(), "charts", "airlock"), "-n", airlockNamespace}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	dec := serializer.NewCodecFactory(env.Scheme).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	var objs []client.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		o, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("rendered chart does not decode: %v\n%s", err, doc)
		}
		objs = append(objs, o.(client.Object))
	}
}

// TestChartRBACIsEnough installs the chart's service account and RBAC into the API server, runs
// the controller as that service account, and checks it can do its whole job: register the
// webhooks, keep its certificate, compile policies, and judge workloads. A missing permission
// fails the test; a broader one would not be needed.
func TestChartRBACIsEnough(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(t, airlockNamespace, nil)
	var installed int
	for _, o := range renderChart(t) {
		switch o.(type) {
		case *corev1.ServiceAccount, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *rbacv1.Role, *rbacv1.RoleBinding:
		default:
			continue
		}
		if o.GetName() == ratelimiterAccount {
			continue // TestChartRatelimiterRBACIsEnough
		}
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("installing %T %s: %v", o, o.GetName(), err)
		}
		installed++
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
	}
	if installed != 5 {
		t.Fatalf("installed %d RBAC objects from the chart, want 5 (service account, cluster role and binding, role and binding)", installed)
	}

	f := newAdmissionFixture(t)
	createPolicies(t, f.key, f.reg.Host)
	sa := rest.CopyConfig(env.Config)
	sa.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + airlockNamespace + ":airlock",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + airlockNamespace, "system:authenticated"}}
	// The API server enforces RBAC, so this test means something: the service account cannot
	// read Secrets outside its namespace.
	saClient, err := client.New(sa, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := saClient.List(ctx, &corev1.SecretList{}, client.InNamespace("default")); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Secrets in default as the service account: %v, want Forbidden", err)
	}
	startAirlockAs(t, sa, "airlock", f.reg)
	ns := newNamespace(t, v1alpha1.ModeEnforce, nil)
	waitForWebhook(t, ns, f.untrusted)

	if err := createIn(ctx, k8s, ns, pod("ok", f.signed)); err != nil {
		t.Errorf("signed pod refused under the chart's RBAC: %v", err)
	}
	if err := createIn(ctx, k8s, ns, pod("bad", f.untrusted)); err == nil || !strings.Contains(err.Error(), "registry untrusted") {
		t.Errorf("untrusted pod: %v", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		var p v1alpha1.AirlockPolicy
		if err := k8s.Get(ctx, client.ObjectKey{Name: "strict"}, &p); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionValid)
		return c != nil && c.Status == metav1.ConditionTrue, nil
	})
	if err != nil {
		t.Errorf("the policy status was not written under the chart's RBAC: %v", err)
	}
}

const ratelimiterAccount = "airlock-ratelimiter"

// TestChartRatelimiterRBACIsEnough runs the rate limiter's cluster side as the chart's
// airlock-ratelimiter service account: it can load policies and namespace labels, and nothing
// more is granted (it cannot read Secrets or pods).
func TestChartRatelimiterRBACIsEnough(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(t, airlockNamespace, nil)
	var installed int
	for _, o := range renderChart(t) {
		switch o.(type) {
		case *corev1.ServiceAccount, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
		default:
			continue
		}
		if o.GetName() != ratelimiterAccount {
			continue
		}
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("installing %T %s: %v", o, o.GetName(), err)
		}
		installed++
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
	}
	if installed != 3 {
		t.Fatalf("installed %d rate limiter RBAC objects from the chart, want 3 (service account, cluster role and binding)", installed)
	}
	sa := rest.CopyConfig(env.Config)
	sa.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + airlockNamespace + ":" + ratelimiterAccount,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + airlockNamespace, "system:authenticated"}}
	saClient, err := client.New(sa, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []client.ObjectList{&corev1.SecretList{}, &corev1.PodList{}} {
		if err := saClient.List(ctx, l, client.InNamespace(airlockNamespace)); !apierrors.IsForbidden(err) {
			t.Errorf("listing %T as the rate limiter: %v, want Forbidden", l, err)
		}
	}
	rateLimitsFollowPolicies(t, sa)
}
