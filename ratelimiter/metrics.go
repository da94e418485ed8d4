package ratelimiter

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the rate limiter's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	decisions     *prometheus.CounterVec
	storeFailures prometheus.Counter
	degraded      prometheus.Gauge
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_ratelimiter_decisions_total",
			Help: "Rate-limit decisions by kind (requests, tokens) and result (allowed, denied, shadow: denied but admitted in an audit namespace, unlimited: no limit matched).",
		}, []string{"kind", "result"}),
		storeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "airlock_ratelimiter_store_failures_total",
			Help: "Decisions the shared store (Redis) could not make; each limit's failure mode decided them.",
		}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "airlock_ratelimiter_degraded",
			Help: "1 while the shared store is unreachable and failure modes decide (local buckets of capacity/N, or denial).",
		}),
	}
	reg.MustRegister(m.decisions, m.storeFailures, m.degraded)
	return m
}

func (m *Metrics) observe(kind Kind, r Result) {
	if m == nil {
		return
	}
	result := "allowed"
	switch {
	case len(r.Applied) == 0:
		result = "unlimited"
	case r.Shadow:
		result = "shadow"
	case !r.Allowed:
		result = "denied"
	}
	m.decisions.WithLabelValues(string(kind), result).Inc()
}

func (m *Metrics) storeFailed() {
	if m != nil {
		m.storeFailures.Inc()
		m.degraded.Set(1)
	}
}

func (m *Metrics) setDegraded(v bool) {
	if m != nil && !v {
		m.degraded.Set(0)
	}
}
