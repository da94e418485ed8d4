package quarantine

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	quarantinedPods = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "airlock_quarantined_pods",
		Help: "Pods labelled airlock.dev/quarantined=true, by namespace.",
	}, []string{"namespace"})
	transitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "airlock_quarantine_transitions_total",
		Help: "Pods quarantined or released, by transition (quarantine, release).",
	}, []string{"transition"})
)

func init() { metrics.Registry.MustRegister(quarantinedPods, transitions) }
