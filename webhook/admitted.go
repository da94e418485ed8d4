package webhook

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// On the common path -- a create whose every image is allowed -- the validating webhook has nothing
// to add to what the mutating webhook already decided, and a webhook call costs the API server far
// more than judging a cached image costs Airlock. So the mutating webhook records the images it
// admitted (airlock.dev/admitted-images) and the enforce validating webhook carries a match
// condition that skips it while the object's images still read exactly so. Whatever changed them
// after Airlock's mutation (a later mutating webhook) makes the condition false, and the
// validating webhook judges the final object as always.
//
// A hand-written annotation does not skip anything: in enforce namespaces the mutating webhook
// fails closed and runs before validation, and on every create it overwrites the annotation or
// removes it (also when it does not judge the object, in case its view of the namespace is
// stale). Anyone able to remove the mutating configuration could remove the validating one as
// well. Audit namespaces, whose mutating webhook fails open, are always validated. The key is
// Airlock's: a later mutating webhook that copies annotations onto pods must not copy this one.
//
// Upgrading from a build without this annotation: a replica of the old build does not remove a
// hand-written one, so while old and new replicas run side by side, a create whose mutation an
// old replica serves can skip validation. No release has shipped without it; should one, its
// upgrade notes must say so.

// admittedSeparator joins the references; a comma appears in no image reference.
const admittedSeparator = ","

// admittedImages renders airlock.dev/admitted-images from the judged images, which judge keeps
// in the order workload.images lists them, the order imagesCEL mirrors.
func admittedImages(imgs []judgedImage) string {
	refs := make([]string, len(imgs))
	for i, im := range imgs {
		refs[i] = im.ref.Image
	}
	return strings.Join(refs, admittedSeparator)
}

// plainAllow reports whether the validating webhook would admit the object with nothing to say:
// every image classified and allowed, the policy valid.
func (j *judgement) plainAllow() bool {
	if j.skip != "" || j.policyErr != nil || j.action != v1alpha1.ActionAllow {
		return false
	}
	for _, im := range j.images {
		if im.err != nil { // admitted unverified: the validating webhook warns
			return false
		}
	}
	return true
}

// SkipAdmittedCondition is the match condition of the enforce validating webhook: call it unless
// this is a create whose images are those the mutating webhook admitted.
func SkipAdmittedCondition() admissionregistrationv1.MatchCondition {
	ann := "object.metadata.annotations['" + v1alpha1.AnnotationAdmittedImages + "']"
	admitted := func(spec string) string {
		return guarded(spec) + " && " + ann + " == " + imagesCEL(spec)
	}
	expr := "!(request.operation == 'CREATE' && has(object.metadata) && has(object.metadata.annotations) && '" +
		v1alpha1.AnnotationAdmittedImages + "' in object.metadata.annotations && (" +
		"request.resource.resource == 'pods' ? (" + admitted("object.spec") + ") : " +
		"request.resource.resource == 'cronjobs' ? (" + admitted("object.spec.jobTemplate.spec.template.spec") + ") : (" +
		admitted("object.spec.template.spec") + ")))"
	return admissionregistrationv1.MatchCondition{Name: "not-admitted-by-airlock", Expression: expr}
}

// guarded tests that every field on a path such as object.spec.template.spec is present, so the
// condition never fails on a malformed object (an error would fail the request closed with a
// message about CEL instead of the API server's own validation message).
func guarded(path string) string {
	parts := strings.Split(path, ".")
	var conds []string
	for i := 2; i <= len(parts); i++ {
		conds = append(conds, "has("+strings.Join(parts[:i], ".")+")")
	}
	return strings.Join(conds, " && ")
}

// imagesCEL is admittedImages in CEL for the pod spec at path: init containers, containers,
// ephemeral containers, then image volumes, absent images read as "".
func imagesCEL(s string) string {
	containers := func(field string) string {
		return "(has(" + s + "." + field + ") ? " + s + "." + field + ".map(c, has(c.image) ? c.image : '') : [])"
	}
	volumes := "(has(" + s + ".volumes) ? " + s + ".volumes.filter(v, has(v.image)).map(v, has(v.image.reference) ? v.image.reference : '') : [])"
	return "(" + containers("initContainers") + " + " + containers("containers") + " + " +
		containers("ephemeralContainers") + " + " + volumes + ").join('" + admittedSeparator + "')"
}
