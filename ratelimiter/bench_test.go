package ratelimiter

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// BenchmarkDecision compares one in-memory decision with x/time/rate's Allow on the same
// machine, both reading the clock: Memory is a bucket map, Limiter adds policy matching.
func BenchmarkDecision(b *testing.B) {
	b.Run("x-time-rate-Allow", func(b *testing.B) {
		rl := rate.NewLimiter(rate.Limit(1e9), 1<<30)
		for b.Loop() {
			rl.Allow()
		}
	})
	b.Run("Memory", func(b *testing.B) {
		m := NewMemory()
		l := Limit{Capacity: 1 << 30, Amount: 1e9, Per: time.Second}
		b.ReportAllocs()
		for b.Loop() {
			m.ApplyAt("tenant/policy/openai/requests", l, 1, false, time.Now())
		}
	})
	b.Run("Limiter.Check", func(b *testing.B) {
		l := &Limiter{}
		l.SetRules(mustRules(b, `
apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata: {name: bench}
spec:
  rateLimits:
  - name: openai
    endpoints: [{host: api.openai.com}]
    requests: {amount: 1000000000, per: 1s}
`))
		req := Request{Namespace: "tenant", Endpoint: "api.openai.com/v1/chat/completions"}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if r, _ := l.Check(ctx, req); !r.Allowed {
				b.Fatal("denied")
			}
		}
	})
}

// BenchmarkRedisDecision measures decisions on a real redis-server over loopback with 32
// concurrent callers: decisions/s and the 99th-percentile latency of one decision.
func BenchmarkRedisDecision(b *testing.B) {
	rs := startRedis(b)
	store := &Redis{Client: rs.client(b), Prefix: "bench:"}
	l := Limit{Capacity: 1 << 40, Amount: 1 << 40, Per: time.Second}
	var mu sync.Mutex
	var all []time.Duration
	b.SetParallelism(16) // 32 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var lat []time.Duration
		ctx := context.Background()
		for pb.Next() {
			t0 := time.Now()
			if _, err := store.Apply(ctx, "tenant/bench/openai/requests", l, 1, false, t0); err != nil {
				b.Error(err)
				return
			}
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
