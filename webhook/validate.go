package webhook

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// Event reasons.
const (
	ReasonDenied      = "AirlockDenied"
	ReasonQuarantined = "AirlockQuarantined"
	ReasonAudit       = "AirlockAudit"
)

// maxWarning keeps each admission warning short: the API server truncates long ones, and the full
// story is in the Event and the verdict annotation.
const maxWarning = 240

func (a *Admission) validate(ctx context.Context, req admission.Request) admission.Response {
	j, errResp := a.judge(ctx, req)
	if errResp != nil {
		return *errResp
	}
	if j.w != nil {
		if denied := a.guard(req, j); denied != nil {
			return *denied
		}
	}
	if j.skip != "" {
		return admission.Allowed("")
	}
	if j.old != nil || !j.plainAllow() {
		// A plain allow on create was counted by the mutating webhook, which the match
		// condition usually leaves as the only call.
		verdictsTotal.WithLabelValues(j.mode, string(j.action)).Inc()
	}
	logger := log.FromContext(ctx).WithValues("mode", j.mode, "policy", j.policyName, "verdict", j.action)

	if j.mode == v1alpha1.ModeAudit {
		if j.action == v1alpha1.ActionAllow {
			return admission.Allowed("").WithWarnings(a.unverifiedWarnings(j)...)
		}
		findings := j.findings("")
		a.event(req, j, corev1.EventTypeWarning, ReasonAudit, "Audit",
			"audit: AirlockPolicy %s would %s this %s:\n%s", j.policyName, j.action, req.Kind.Kind, strings.Join(findings, "\n"))
		warnings := []string{fmt.Sprintf("airlock audit: AirlockPolicy %s would %s this %s", j.policyName, j.action, req.Kind.Kind)}
		for _, f := range findings {
			warnings = append(warnings, "airlock audit: "+truncate(f, maxWarning))
		}
		logger.Info("audit finding", "findings", len(findings))
		return admission.Allowed("").WithWarnings(warnings...)
	}

	switch j.action {
	case v1alpha1.ActionDeny:
		findings := j.findings(v1alpha1.ActionDeny)
		msg := fmt.Sprintf("airlock: AirlockPolicy %s denies this %s:\n%s", j.policyName, req.Kind.Kind, strings.Join(findings, "\n"))
		a.event(req, j, corev1.EventTypeWarning, ReasonDenied, "Deny", "%s", msg)
		logger.Info("denied", "findings", len(findings))
		return admission.Denied(msg)
	case v1alpha1.ActionQuarantine:
		// The mutating webhook ran first and marked the object; if it did not (it was removed or
		// failed open), admitting would run the workload unisolated, so fail closed.
		if j.w.obj.GetAnnotations()[v1alpha1.AnnotationQuarantine] != "true" {
			return admission.Denied(fmt.Sprintf("airlock: this %s must run quarantined, but it lacks the %s annotation the "+
				"mutating webhook sets; check that MutatingWebhookConfiguration airlock is installed", req.Kind.Kind, v1alpha1.AnnotationQuarantine))
		}
		a.event(req, j, corev1.EventTypeWarning, ReasonQuarantined, "Quarantine",
			"admitted quarantined by AirlockPolicy %s:\n%s", j.policyName, strings.Join(j.findings(""), "\n"))
		return admission.Allowed("").WithWarnings(fmt.Sprintf("airlock: admitted quarantined by AirlockPolicy %s; see %s", j.policyName, v1alpha1.AnnotationVerdict))
	}
	return admission.Allowed("").WithWarnings(a.unverifiedWarnings(j)...)
}

// unverifiedWarnings warns about images admitted without classification (fail-open outages).
func (a *Admission) unverifiedWarnings(j *judgement) []string {
	var out []string
	for _, im := range j.images {
		if im.err != nil && im.verdict.Action == v1alpha1.ActionAllow {
			out = append(out, truncate(fmt.Sprintf("airlock: %s %q admitted unverified: its registry is unreachable and the policy fails open", im.ref.Path, im.ref.Image), maxWarning))
		}
	}
	return out
}

// event records an Event about the admitted object. Dry runs record nothing (the webhooks declare
// sideEffects NoneOnDryRun), and objects without a name yet (generateName) cannot be referred to.
func (a *Admission) event(req admission.Request, j *judgement, typ, reason, action, note string, args ...any) {
	if a.recorder == nil || (req.DryRun != nil && *req.DryRun) || j.w.obj.GetName() == "" {
		return
	}
	if j.w.obj.GetNamespace() == "" {
		j.w.obj.SetNamespace(req.Namespace)
	}
	a.recorder.Eventf(j.w.obj, nil, typ, reason, action, note, args...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
