package test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// BenchmarkPodCreate measures pod creations through the API server, in parallel, in a namespace
// the webhook skips and in an enforce namespace where both webhooks judge a 3-container pod whose
// images are cached (the steady state of a rollout).
func BenchmarkPodCreate(b *testing.B) {
	f := newAdmissionFixture(b)
	createPolicies(b, f.key, f.reg.Host)
	startAirlock(b, f.reg)
	enforce := newNamespace(b, v1alpha1.ModeEnforce, nil)
	off := newNamespace(b, "", nil)
	waitForWebhook(b, enforce, f.untrusted)
	// envtest's client is limited to 1,000 requests/s, which would cap both runs alike.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	images := []string{f.signed, f.signed, f.signed}
	var n atomic.Int64
	for _, tc := range []struct{ name, ns string }{{"without-webhook", off}, {"with-webhook", enforce}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(8) // 16 concurrent clients on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := pod("bench-"+strconv.FormatInt(n.Add(1), 10), images...)
					if err := createIn(context.Background(), c, tc.ns, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
		})
	}
}
