package webhook

import (
	"slices"
	"testing"
	"time"
)

// latencies collects per-iteration durations so a benchmark can report percentiles, which
// ns/op (a mean) hides.
type latencies struct{ d []time.Duration }

func newLatencies(n int) *latencies { return &latencies{d: make([]time.Duration, 0, n)} }

func (l *latencies) time(f func()) {
	start := time.Now()
	f()
	l.d = append(l.d, time.Since(start))
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	p := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Nanoseconds()) }
	b.ReportMetric(p(0.50), "p50-ns")
	b.ReportMetric(p(0.99), "p99-ns")
}
