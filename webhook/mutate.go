package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// maxReason bounds airlock.dev/quarantine-reason; the verdict annotation holds the details.
const maxReason = 512

// mutate records the verdict on the object and, in enforce namespaces, marks quarantined workloads.
// It changes only annotations, editing the request's own JSON, so the patch touches nothing else:
// image references are never rewritten and GitOps tools see what they applied.
func (a *Admission) mutate(ctx context.Context, req admission.Request) admission.Response {
	j, errResp := a.judge(ctx, req)
	if errResp != nil {
		return *errResp
	}
	if j.skip != "" {
		return admission.Allowed("")
	}
	objAnn := map[string]string{v1alpha1.AnnotationVerdict: j.verdictAnnotation()}
	var tmplAnn map[string]string
	if j.mode == v1alpha1.ModeEnforce && j.action == v1alpha1.ActionQuarantine {
		reason := truncate("AirlockPolicy "+j.policyName+": "+strings.Join(j.findings(v1alpha1.ActionQuarantine), "; "), maxReason)
		// A quarantine already asked for (by an operator, or at an earlier admission) keeps its
		// reason and requester.
		if j.w.obj.GetAnnotations()[v1alpha1.AnnotationQuarantine] != "true" {
			objAnn[v1alpha1.AnnotationQuarantine] = "true"
			objAnn[v1alpha1.AnnotationQuarantineReason] = reason
			objAnn[v1alpha1.AnnotationQuarantinedBy] = req.UserInfo.Username
		}
		// Pods inherit the template's annotations, so every pod of a quarantined workload is
		// quarantined from its first moment. Who asked stays on the workload only, so another
		// user's apply does not change the template and roll the pods.
		if j.w.template != nil {
			tmplAnn = map[string]string{v1alpha1.AnnotationQuarantine: "true", v1alpha1.AnnotationQuarantineReason: reason}
		}
	}

	// UseNumber keeps every number as written, so the patch never touches one.
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(req.Object.Raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the %s: %w", req.Kind.Kind, err))
	}
	if err := setAnnotations(doc, []string{"metadata"}, objAnn); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if tmplAnn != nil {
		if err := setAnnotations(doc, templateMetadataPath(j.w.specPath), tmplAnn); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the %s: %w", req.Kind.Kind, err))
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// templateMetadataPath turns "spec.template.spec" into the template's metadata path.
func templateMetadataPath(specPath string) []string {
	parts := strings.Split(specPath, ".")
	return append(parts[:len(parts)-1], "metadata")
}

// setAnnotations sets annotations in the JSON object at path, creating the maps on the way.
func setAnnotations(doc map[string]any, path []string, kv map[string]string) error {
	m := doc
	for _, p := range append(path, "annotations") {
		next, ok := m[p]
		if !ok || next == nil {
			next = map[string]any{}
			m[p] = next
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", strings.Join(path, "."))
		}
		m = nm
	}
	for k, v := range kv {
		m[k] = v
	}
	return nil
}
