package test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/ratelimiter"
)

// TestRateLimitsFollowPolicies: the rate limiter reads spec.rateLimits from the cluster, applies
// them to the namespaces the policy selects (by their labels), and reloads them when the policy
// changes or goes.
func TestRateLimitsFollowPolicies(t *testing.T) { rateLimitsFollowPolicies(t, env.Config) }

// rateLimitsFollowPolicies runs the rate limiter's cluster side with cfg's identity.
func rateLimitsFollowPolicies(t *testing.T, cfg *rest.Config) {
	mgr, err := ctrl.NewManager(cfg, managerOptions())
	if err != nil {
		t.Fatal(err)
	}
	l := &ratelimiter.Limiter{Namespaces: ratelimiter.CachedNamespaces{Reader: mgr.GetCache()}}
	if err := (&ratelimiter.PolicyWatcher{Limiter: l}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	runManager(t, mgr)

	limited := newNamespace(t, v1alpha1.ModeEnforce, map[string]string{"rate-test": "yes"})
	other := newNamespace(t, v1alpha1.ModeEnforce, nil)
	unlabelled := newNamespace(t, "", map[string]string{"rate-test": "yes"})
	// "0-" sorts before the other tests' policies, so this one decides for its namespaces.
	p := &v1alpha1.AirlockPolicy{ObjectMeta: metav1.ObjectMeta{Name: "0-rate-limits"}, Spec: v1alpha1.AirlockPolicySpec{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"rate-test": "yes"}},
		RateLimits: []v1alpha1.RateLimit{{Name: "openai", Endpoints: []v1alpha1.EndpointMatch{{Host: "api.openai.com"}},
			Requests: &v1alpha1.Quota{Amount: 3, Per: &metav1.Duration{Duration: time.Hour}}}},
	}}
	if err := k8s.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), p) })

	check := func(ns string) ratelimiter.Result {
		t.Helper()
		r, err := l.Check(context.Background(), ratelimiter.Request{Namespace: ns, Endpoint: "api.openai.com/v1/chat/completions", Cost: 0})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	capacity := func(r ratelimiter.Result) int64 {
		if len(r.Applied) == 0 {
			return 0
		}
		return r.Applied[0].Limit.Capacity
	}
	eventually(t, "the policy's limit applies", func(context.Context) (bool, error) {
		return l.Ready() == nil && capacity(check(limited)) == 3, nil
	})
	admitted := 1 // the call that saw the limit
	for range 5 {
		if check(limited).Allowed {
			admitted++
		}
	}
	if admitted != 3 {
		t.Errorf("%d calls admitted in the limited namespace, want 3", admitted)
	}
	if r := check(other); len(r.Applied) != 0 && r.Applied[0].Policy == p.Name {
		t.Errorf("a namespace the selector does not match got the limit: %+v", r)
	}
	if r := check(unlabelled); len(r.Applied) != 0 {
		t.Errorf("a namespace without airlock.dev/mode got a limit: %+v", r)
	}

	// Hot reload: a new amount applies without a restart.
	eventually(t, "the update is applied", func(ctx context.Context) (bool, error) {
		var cur v1alpha1.AirlockPolicy
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &cur); err != nil {
			return false, err
		}
		if cur.Spec.RateLimits[0].Requests.Amount != 10 {
			cur.Spec.RateLimits[0].Requests.Amount = 10
			if err := k8s.Update(ctx, &cur); err != nil {
				return false, nil // a conflict with the status writer: try again
			}
		}
		return capacity(check(limited)) == 10, nil
	})
	if err := k8s.Delete(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted policy's limit is gone", func(context.Context) (bool, error) {
		r := check(limited)
		return len(r.Applied) == 0 || r.Applied[0].Policy != p.Name, nil
	})
}
