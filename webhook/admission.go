package webhook

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/webhook/classify"
)

// Paths the webhooks are served on.
const (
	ValidatePath = "/validate"
	MutatePath   = "/mutate"
)

// Admission holds what both webhooks share: the classifier with its cache, the policies, and a
// reader of namespaces.
type Admission struct {
	reader     client.Reader
	classifier *classify.Classifier
	policies   *policies
	decoder    admission.Decoder
	recorder   events.EventRecorder
	exempt     map[string]bool
	self       map[string]bool
}

// Config configures the admission handlers.
type Config struct {
	// Reader reads Namespaces and AirlockPolicies; use the manager's cached client.
	Reader client.Reader
	// Secrets reads the Secrets policies name (keys, trust roots).
	Secrets classify.SecretReader
	// Classifier classifies images; share one so its cache serves every request.
	Classifier *classify.Classifier
	// Scheme decodes admitted objects.
	Scheme *runtime.Scheme
	// Recorder receives Events for denials, quarantines and audit findings; nil records none.
	Recorder events.EventRecorder
	// ExemptNamespaces are never judged, whatever their labels say: Airlock's own namespace and
	// kube-system, so the cluster can always heal.
	ExemptNamespaces []string
	// SelfUsernames are the identities Airlock itself acts as (its service account): they may
	// release quarantines (TTL expiry) and set the quarantined label.
	SelfUsernames []string
}

// NewAdmission returns the shared state of both webhooks.
func NewAdmission(c Config) (*Admission, error) {
	if c.Reader == nil || c.Classifier == nil || c.Scheme == nil {
		return nil, fmt.Errorf("webhook: Reader, Classifier and Scheme are required")
	}
	ps, err := newPolicies(c.Reader, c.Secrets)
	if err != nil {
		return nil, err
	}
	a := &Admission{reader: c.Reader, classifier: c.Classifier, policies: ps, decoder: admission.NewDecoder(c.Scheme),
		recorder: c.Recorder, exempt: map[string]bool{}}
	for _, ns := range c.ExemptNamespaces {
		a.exempt[ns] = true
	}
	a.self = map[string]bool{}
	for _, u := range c.SelfUsernames {
		a.self[u] = true
	}
	return a, nil
}

// Validator returns the validating webhook.
func (a *Admission) Validator() *admission.Webhook {
	return &admission.Webhook{Handler: instrument("validate", admission.HandlerFunc(a.validate)), RecoverPanic: ptrTrue()}
}

// Mutator returns the mutating webhook.
func (a *Admission) Mutator() *admission.Webhook {
	return &admission.Webhook{Handler: instrument("mutate", admission.HandlerFunc(a.mutate)), RecoverPanic: ptrTrue()}
}

func ptrTrue() *bool { b := true; return &b }

// instrument records the count and latency of admissions by webhook and outcome.
func instrument(webhook string, h admission.Handler) admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		start := time.Now()
		resp := h.Handle(ctx, req)
		outcome := "allowed"
		switch {
		case resp.Result != nil && resp.Result.Code >= 500:
			outcome = "error"
		case !resp.Allowed:
			outcome = "denied"
		case len(resp.Patches) > 0:
			outcome = "patched"
		}
		admissionsTotal.WithLabelValues(webhook, outcome).Inc()
		admissionDuration.WithLabelValues(webhook).Observe(time.Since(start).Seconds())
		return resp
	})
}
