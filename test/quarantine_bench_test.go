package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// writeCounter counts the API writes (anything but GET) a client makes, by resource.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			// .../namespaces/NS/RESOURCE for a create, .../RESOURCE/NAME otherwise.
			parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
			res := req.Method + " " + parts[len(parts)-1]
			if req.Method != http.MethodPost && len(parts) >= 2 {
				res = req.Method + " " + parts[len(parts)-2]
			}
			w.mu.Lock()
			w.counts[res]++
			w.mu.Unlock()
			w.total.Add(1)
		}
		return rt.RoundTrip(req)
	})
}

func (w *writeCounter) reset() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.counts
	w.counts = map[string]int{}
	w.total.Store(0)
	return out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkQuarantineAtScale: a namespace of 1,000 pods, 50 of them a Deployment's. Each iteration
// quarantines the Deployment and waits until its 50 pods are labelled and the NetworkPolicy exists,
// then releases it and waits until nothing is left. It reports the time to converge and the API
// writes the controller made, for each.
func BenchmarkQuarantineAtScale(b *testing.B) {
	f := newAdmissionFixture(b)
	createPolicies(b, f.key, f.reg.Host)
	wc := &writeCounter{counts: map[string]int{}}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(wc.wrap)
	startAirlockAs(b, cfg, "", f.reg)
	ns := newNamespace(b, v1alpha1.ModeEnforce, nil)
	waitForWebhook(b, ns, f.untrusted)

	fast := unthrottled(b)
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range 950 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p := pod(fmt.Sprintf("other-%d", i), f.signed)
			p.Labels = map[string]string{"app": fmt.Sprintf("app-%d", i%20)}
			if err := createIn(ctx, fast, ns, p); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	d, _ := ownedPods(b, ns, "model-api", f.signed, 50)
	time.Sleep(time.Second) // let the controller settle on the 1,000 creations
	wc.reset()

	converge := func(wantLabelled int) time.Duration {
		start := time.Now()
		for {
			var pods corev1.PodList
			if err := k8s.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelQuarantined: "true"}); err != nil {
				b.Fatal(err)
			}
			nps := policiesIn(ctx, b, ns)
			if len(pods.Items) == wantLabelled && (len(nps) == 1) == (wantLabelled > 0) {
				return time.Since(start)
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("no convergence to %d quarantined pods in a minute (have %d, %d policies)", wantLabelled, len(pods.Items), len(nps))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var qTime, rTime time.Duration
	var qWrites, rWrites int64
	var lastQ, lastR map[string]int
	for b.Loop() {
		if err := annotate(ctx, k8s, d, map[string]*string{v1alpha1.AnnotationQuarantine: str("true"), v1alpha1.AnnotationQuarantineReason: str("bench")}); err != nil {
			b.Fatal(err)
		}
		qTime += converge(50)
		time.Sleep(200 * time.Millisecond) // count trailing writes (events) too
		qWrites += wc.total.Load()
		lastQ = wc.reset()
		if err := annotate(ctx, k8s, d, map[string]*string{v1alpha1.AnnotationQuarantine: nil}); err != nil {
			b.Fatal(err)
		}
		rTime += converge(0)
		time.Sleep(200 * time.Millisecond)
		rWrites += wc.total.Load()
		lastR = wc.reset()
	}
	n := float64(b.N)
	b.ReportMetric(float64(qTime.Milliseconds())/n, "quarantine-ms")
	b.ReportMetric(float64(qWrites)/n, "quarantine-writes")
	b.ReportMetric(float64(rTime.Milliseconds())/n, "release-ms")
	b.ReportMetric(float64(rWrites)/n, "release-writes")
	b.Logf("writes of the last quarantine: %v; of the last release: %v", lastQ, lastR)
}

// unthrottled is a client without envtest's client-side rate limit, for bulk setup.
func unthrottled(b testing.TB) client.Client {
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
