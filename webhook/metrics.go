package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/airlock-dev/airlock/webhook/classify"
)

var (
	admissionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "airlock_admission_requests_total",
		Help: "Admission requests handled, by webhook (validate, mutate) and outcome (allowed, denied, patched, error).",
	}, []string{"webhook", "outcome"})
	verdictsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "airlock_admission_verdicts_total",
		Help: "Verdicts on judged objects, by namespace mode and verdict (allow, quarantine, deny): counted by the validating webhook, and by the mutating webhook for the plain allows the validating webhook is spared.",
	}, []string{"mode", "verdict"})
	admissionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "airlock_admission_duration_seconds",
		Help:    "Time to answer an admission request, by webhook.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"webhook"})
)

func init() {
	metrics.Registry.MustRegister(admissionsTotal, verdictsTotal, admissionDuration)
}

// RegisterCacheMetrics exports a classifier's cache statistics as
// airlock_image_lookups_total{result="hit|coalesced|miss"}.
func RegisterCacheMetrics(reg prometheus.Registerer, c *classify.Classifier) error {
	for _, r := range []struct {
		name string
		get  func(classify.CacheStats) int64
	}{
		{"hit", func(s classify.CacheStats) int64 { return s.Hits }},
		{"coalesced", func(s classify.CacheStats) int64 { return s.Coalesced }},
		{"miss", func(s classify.CacheStats) int64 { return s.Misses }},
	} {
		f := r.get
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "airlock_image_lookups_total",
			Help:        "Registry lookups (manifests and signatures) by how they were answered: from the cache, by joining a lookup in flight, or by asking the registry.",
			ConstLabels: prometheus.Labels{"result": r.name},
		}, func() float64 { return float64(f(c.CacheStats())) })); err != nil {
			return err
		}
	}
	return nil
}
