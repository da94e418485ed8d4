package webhook

import (
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// quarantineAnnotations are the annotations a quarantine consists of.
var quarantineAnnotations = []string{
	v1alpha1.AnnotationQuarantine, v1alpha1.AnnotationQuarantineReason, v1alpha1.AnnotationQuarantinedBy,
	v1alpha1.AnnotationQuarantinedAt, "airlock.dev/quarantine-ttl",
}

// guard keeps a quarantine from being lifted by anyone but the policy's quarantine admins and
// Airlock itself. Asking for a quarantine (setting airlock.dev/quarantine to "true" where it was
// not) is open to anyone who may update the object: it only ever restricts. Everything else --
// removing it, "false", editing who, why, when or the TTL of a standing quarantine -- is a
// release, and the airlock.dev/quarantined label is Airlock's alone. The workload's own service
// account is refused even if a policy lists it: a workload never releases itself.
//
// It returns nil when the change is allowed.
func (a *Admission) guard(req admission.Request, j *judgement) *admission.Response {
	if j.old == nil {
		return nil
	}
	oldAnn, newAnn := j.old.obj.GetAnnotations(), j.w.obj.GetAnnotations()
	oldLbl, newLbl := j.old.obj.GetLabels()[v1alpha1.LabelQuarantined], j.w.obj.GetLabels()[v1alpha1.LabelQuarantined]
	user := req.UserInfo
	self := a.self[user.Username]

	if oldLbl != newLbl && !self {
		r := admission.Denied(fmt.Sprintf("airlock: only Airlock sets the %s label; %s may not change it", v1alpha1.LabelQuarantined, user.Username))
		return &r
	}
	changed := false
	for _, k := range quarantineAnnotations {
		if oldAnn[k] != newAnn[k] {
			changed = true
			break
		}
	}
	if !changed || self {
		return nil
	}
	if oldAnn[v1alpha1.AnnotationQuarantine] != "true" && newAnn[v1alpha1.AnnotationQuarantine] == "true" {
		return nil // asking for quarantine
	}
	if isOwnServiceAccount(user, req.Namespace, j.w.spec.ServiceAccountName) {
		r := admission.Denied(fmt.Sprintf("airlock: %s is this workload's own service account; a quarantined workload can never release itself", user.Username))
		return &r
	}
	if j.admins.Allows(user.Username, user.Groups) {
		return nil
	}
	r := admission.Denied(fmt.Sprintf("airlock: %s may not lift or change the quarantine of this %s: only the quarantine admins of AirlockPolicy %s "+
		"(spec.quarantine.admins) and Airlock itself may", user.Username, req.Kind.Kind, j.policyName))
	return &r
}

func isOwnServiceAccount(u authenticationv1.UserInfo, namespace, sa string) bool {
	if sa == "" {
		sa = "default"
	}
	return u.Username == "system:serviceaccount:"+namespace+":"+sa
}
