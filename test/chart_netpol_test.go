package test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
)

// TestChartRatelimiterNetworkPolicy: the rate limiter's APIs trust their caller, so the chart lets
// only Airlock's namespace and the listed gateway namespaces reach them. What the rendered policy
// means is evaluated by cyclonus' NetworkPolicy matcher, and the API server accepts it.
func TestChartRatelimiterNetworkPolicy(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(t, airlockNamespace, nil)
	var np *networkingv1.NetworkPolicy
	for _, o := range renderChart(t, "--set", "ratelimiter.clientNamespaces={istio-system}") {
		if p, ok := o.(*networkingv1.NetworkPolicy); ok && p.Name == "airlock-ratelimiter" {
			np = p
		}
	}
	if np == nil {
		t.Fatal("the chart renders no NetworkPolicy for the rate limiter")
	}
	if err := k8s.Create(ctx, np.DeepCopy()); err != nil {
		t.Fatalf("the API server refused the NetworkPolicy: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), np) })

	m := matcher.BuildNetworkPolicies(true, []*networkingv1.NetworkPolicy{np})
	peer := func(ns string, labels map[string]string) *matcher.TrafficPeer {
		return &matcher.TrafficPeer{Internal: &matcher.InternalPeer{Namespace: ns,
			NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns}, PodLabels: labels}, IP: "10.0.0.1"}
	}
	limiter := peer(airlockNamespace, map[string]string{"app.kubernetes.io/name": "airlock", "app.kubernetes.io/component": "ratelimiter"})
	proxy := peer(airlockNamespace, map[string]string{"app.kubernetes.io/name": "airlock-proxy"})
	gateway := peer("istio-system", map[string]string{"app": "istio-ingressgateway"})
	workload := peer("team-a", map[string]string{"app": "chat"})
	for _, c := range []struct {
		name    string
		from    *matcher.TrafficPeer
		port    int
		allowed bool
	}{
		{"proxy to the HTTP API", proxy, 8090, true},
		{"proxy to the RateLimitService", proxy, 8091, true},
		{"listed gateway to the RateLimitService", gateway, 8091, true},
		{"workload to the HTTP API", workload, 8090, false},
		{"workload to the RateLimitService", workload, 8091, false},
		{"outside to the HTTP API", &matcher.TrafficPeer{IP: "203.0.113.7"}, 8090, false},
		{"workload to metrics (Prometheus may scrape from anywhere)", workload, 8080, true},
	} {
		got := m.IsTrafficAllowed(&matcher.Traffic{Source: c.from, Destination: limiter, ResolvedPort: c.port, Protocol: corev1.ProtocolTCP}).IsAllowed()
		if got != c.allowed {
			t.Errorf("%s: allowed=%t, want %t", c.name, got, c.allowed)
		}
	}
}
