package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/quarantine"
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
	if j.w == nil {
		if req.Operation == admissionv1.Create {
			// Not judged here (by this replica's view of the namespace), so nothing is admitted:
			// a hand-written record must not skip a validating webhook that the API server,
			// seeing the namespace differently, still selects.
			return dropAdmittedRecord(req)
		}
		return admission.Allowed("")
	}
	objAnn := map[string]string{}
	var tmplAnn, objLabels map[string]string
	var dropAnn []string
	if j.skip == "" {
		objAnn[v1alpha1.AnnotationVerdict] = j.verdictAnnotation()
		if j.plainAllow() {
			objAnn[v1alpha1.AnnotationAdmittedImages] = admittedImages(j.images)
			if j.old == nil {
				// The validating webhook, which counts every other verdict, is skipped for it.
				verdictsTotal.WithLabelValues(j.mode, string(j.action)).Inc()
			}
		}
	}
	// Whatever this webhook did not just write is not what it admitted: a copied or hand-written
	// annotation, or one left from images since changed. An update that keeps the images keeps it.
	if _, set := objAnn[v1alpha1.AnnotationAdmittedImages]; !set && (j.skip == "" || j.old == nil) {
		if _, has := j.w.obj.GetAnnotations()[v1alpha1.AnnotationAdmittedImages]; has {
			dropAnn = append(dropAnn, v1alpha1.AnnotationAdmittedImages)
		}
	}
	quarantined := j.w.obj.GetAnnotations()[v1alpha1.AnnotationQuarantine] == "true"
	if j.skip == "" && j.mode == v1alpha1.ModeEnforce && j.action == v1alpha1.ActionQuarantine {
		reason := truncate("AirlockPolicy "+j.policyName+": "+strings.Join(j.findings(v1alpha1.ActionQuarantine), "; "), maxReason)
		// A quarantine already asked for (by an operator, or at an earlier admission) keeps its
		// reason and requester.
		if !quarantined {
			objAnn[v1alpha1.AnnotationQuarantine] = "true"
			objAnn[v1alpha1.AnnotationQuarantineReason] = reason
			quarantined = true
		}
		// Pods inherit the template's annotations, so every pod of a quarantined workload is
		// quarantined from its first moment. Who asked stays on the workload only, so another
		// user's apply does not change the template and roll the pods.
		if j.w.template != nil {
			tmplAnn = map[string]string{v1alpha1.AnnotationQuarantine: "true", v1alpha1.AnnotationQuarantineReason: reason}
		}
	}
	// Whoever asks for a quarantine is recorded, from the authenticated request, never from the
	// object.
	wasQuarantined := j.old != nil && j.old.obj.GetAnnotations()[v1alpha1.AnnotationQuarantine] == "true"
	if quarantined && !wasQuarantined && j.w.obj.GetAnnotations()[v1alpha1.AnnotationQuarantinedBy] == "" {
		objAnn[v1alpha1.AnnotationQuarantinedBy] = req.UserInfo.Username
	}
	// A new pod of a quarantined workload is labelled at admission, so it is isolated from its
	// first packet rather than when the reconciler gets to it.
	if pod, ok := j.w.obj.(*corev1.Pod); ok && j.old == nil && pod.Labels[v1alpha1.LabelQuarantined] != "true" {
		q := quarantined
		if !q {
			var err error
			if q, err = quarantine.PodQuarantined(ctx, a.reader, pod); err != nil {
				return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading the owners of the pod: %w", err))
			}
		}
		if q {
			objLabels = map[string]string{v1alpha1.LabelQuarantined: "true"}
		}
	}
	if len(objAnn) == 0 && len(dropAnn) == 0 && tmplAnn == nil && objLabels == nil {
		return admission.Allowed("")
	}
	if tmplAnn == nil && (j.w.obj.GetName() != "" || j.w.obj.GetGenerateName() != "") {
		// The object's own metadata is there (a name is required): patch it directly, without
		// decoding and diffing the whole object.
		return metadataPatch(j.w.obj, objAnn, dropAnn, objLabels)
	}

	// UseNumber keeps every number as written, so the patch never touches one.
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(req.Object.Raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the %s: %w", req.Kind.Kind, err))
	}
	for _, set := range []struct {
		path []string
		key  string
		kv   map[string]string
	}{
		{[]string{"metadata"}, "annotations", objAnn},
		{[]string{"metadata"}, "labels", objLabels},
		{templateMetadataPath(j.w.specPath), "annotations", tmplAnn},
	} {
		if len(set.kv) == 0 {
			continue
		}
		if err := setMap(doc, set.path, set.key, set.kv); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	meta, _ := doc["metadata"].(map[string]any) // nil maps read and delete as empty ones
	ann, _ := meta["annotations"].(map[string]any)
	for _, k := range dropAnn {
		delete(ann, k)
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

// setMap sets entries of the map named key (annotations, labels) in the JSON object at path,
// creating the maps on the way.
func setMap(doc map[string]any, path []string, key string, kv map[string]string) error {
	m := doc
	for _, p := range append(path[:len(path):len(path)], key) {
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

// metadataPatch sets and removes annotations and sets labels of the object's own metadata as JSON
// Patch operations, in a stable order.
func metadataPatch(obj metav1.Object, setAnn map[string]string, dropAnn []string, setLabels map[string]string) admission.Response {
	var ops []jsonpatch.JsonPatchOperation
	for _, m := range []struct {
		field string
		have  map[string]string
		set   map[string]string
		drop  []string
	}{
		{"annotations", obj.GetAnnotations(), setAnn, dropAnn},
		{"labels", obj.GetLabels(), setLabels, nil},
	} {
		if len(m.set) == 0 && len(m.drop) == 0 {
			continue
		}
		if m.have == nil {
			// No map yet (absent or null): add it whole. Nothing can be dropped from it.
			ops = append(ops, jsonpatch.NewOperation("add", "/metadata/"+m.field, m.set))
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(m.set)) {
			// "add" on a member that exists replaces it.
			ops = append(ops, jsonpatch.NewOperation("add", "/metadata/"+m.field+"/"+escapePointer(k), m.set[k]))
		}
		for _, k := range m.drop {
			ops = append(ops, jsonpatch.NewOperation("remove", "/metadata/"+m.field+"/"+escapePointer(k), nil))
		}
	}
	return admission.Patched("", ops...)
}

// escapePointer escapes a map key for a JSON Pointer (RFC 6901): "airlock.dev/verdict" becomes
// "airlock.dev~1verdict".
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// dropAdmittedRecord removes airlock.dev/admitted-images from an object being created without a
// judgement, reading only its metadata.
func dropAdmittedRecord(req admission.Request) admission.Response {
	var meta metav1.PartialObjectMetadata
	if err := json.Unmarshal(req.Object.Raw, &meta); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the %s: %w", req.Kind.Kind, err))
	}
	if _, ok := meta.Annotations[v1alpha1.AnnotationAdmittedImages]; !ok {
		return admission.Allowed("")
	}
	return metadataPatch(&meta, nil, []string{v1alpha1.AnnotationAdmittedImages}, nil)
}
