package webhook

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// DefaultTimeoutSeconds bounds each webhook call. A registry lookup is bounded tighter
// (classify.DefaultLookupTimeout), so the policy's failure mode, not the API server's timeout,
// decides what happens when a registry is slow.
const DefaultTimeoutSeconds = 10

// Endpoint says how the API server reaches the webhook: through a Service in the cluster, or at a
// URL (a control plane outside the cluster, as in tests and `make demo`).
type Endpoint struct {
	Service *admissionregistrationv1.ServiceReference
	// URL is the base URL, "https://127.0.0.1:9443"; the paths are appended.
	URL string
}

func (e Endpoint) clientConfig(path string, caBundle []byte) admissionregistrationv1.WebhookClientConfig {
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: caBundle}
	if e.Service != nil {
		svc := *e.Service
		svc.Path = &path
		cc.Service = &svc
	} else {
		u := e.URL + path
		cc.URL = &u
	}
	return cc
}

// rules are the objects both webhooks judge: Pods (with the ephemeral-containers subresource,
// through which `kubectl debug` adds containers) and every built-in pod template.
func rules() []admissionregistrationv1.RuleWithOperations {
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	scope := admissionregistrationv1.NamespacedScope
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		version := "v1"
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources, Scope: &scope}}
	}
	return []admissionregistrationv1.RuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers"),
		rule("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule("batch", "jobs", "cronjobs"),
	}
}

// namespaceSelector selects namespaces in one mode, except the exempt ones.
func namespaceSelector(mode string, exempt []string) *metav1.LabelSelector {
	sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: v1alpha1.LabelMode, Operator: metav1.LabelSelectorOpIn, Values: []string{mode}},
	}}
	if len(exempt) > 0 {
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: exempt})
	}
	return sel
}

// failurePolicy per mode: enforce namespaces fail closed (an unreachable webhook must not let
// unjudged images in), audit namespaces fail open (recording must never block).
func failurePolicy(mode string) *admissionregistrationv1.FailurePolicyType {
	p := admissionregistrationv1.Ignore
	if mode == v1alpha1.ModeEnforce {
		p = admissionregistrationv1.Fail
	}
	return &p
}

// Configurations renders the validating and mutating webhook configurations, one webhook per
// namespace mode in each.
func Configurations(name string, ep Endpoint, exempt []string, caBundle []byte) (*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration) {
	timeout := int32(DefaultTimeoutSeconds)
	// Events are recorded about judged objects, never on dry runs.
	sideEffects := admissionregistrationv1.SideEffectClassNoneOnDryRun
	equivalent := admissionregistrationv1.Equivalent
	reinvoke := admissionregistrationv1.IfNeededReinvocationPolicy
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, mode := range []string{v1alpha1.ModeEnforce, v1alpha1.ModeAudit} {
		var conditions []admissionregistrationv1.MatchCondition
		if mode == v1alpha1.ModeEnforce {
			conditions = []admissionregistrationv1.MatchCondition{SkipAdmittedCondition()}
		}
		vwc.Webhooks = append(vwc.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name:                    mode + ".validate.airlock.dev",
			ClientConfig:            ep.clientConfig(ValidatePath, caBundle),
			Rules:                   rules(),
			FailurePolicy:           failurePolicy(mode),
			MatchPolicy:             &equivalent,
			NamespaceSelector:       namespaceSelector(mode, exempt),
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             &sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions:         conditions,
		})
		mwc.Webhooks = append(mwc.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name:                    mode + ".mutate.airlock.dev",
			ClientConfig:            ep.clientConfig(MutatePath, caBundle),
			Rules:                   rules(),
			FailurePolicy:           failurePolicy(mode),
			MatchPolicy:             &equivalent,
			NamespaceSelector:       namespaceSelector(mode, exempt),
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             &sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      &reinvoke,
		})
	}
	return vwc, mwc
}

// ApplyConfigurations creates or updates both configurations; an update is made only when
// something differs, so the periodic certificate sync does not churn them.
//
// owner, when set, becomes the configurations' owner: deleting it (the chart's ClusterRole, on
// uninstall) lets the garbage collector remove them, so a removed Airlock never leaves behind a
// fail-closed webhook that nothing answers.
func ApplyConfigurations(ctx context.Context, c client.Client, name string, ep Endpoint, exempt []string, caBundle []byte, owner *metav1.OwnerReference) error {
	vwant, mwant := Configurations(name, ep, exempt, caBundle)
	setOwner := func(o client.Object) {
		if owner != nil {
			o.SetOwnerReferences([]metav1.OwnerReference{*owner})
		}
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, cfg := range []struct {
		obj  client.Object
		want func()
	}{
		{v, func() { v.Webhooks = vwant.Webhooks }},
		{m, func() { m.Webhooks = mwant.Webhooks }},
	} {
		// CreateOrUpdate writes only when the result differs from what the server has; the
		// rendered webhooks spell out the server's defaults so that comparison holds.
		if _, err := controllerutil.CreateOrUpdate(ctx, c, cfg.obj, func() error {
			setOwner(cfg.obj)
			cfg.want()
			return nil
		}); err != nil {
			return fmt.Errorf("applying %T %s: %w", cfg.obj, name, err)
		}
	}
	return nil
}
