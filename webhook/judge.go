package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// judgement is what both webhooks know about one admission request.
type judgement struct {
	// skip, when set, says why the request's images are not judged (namespace off or exempt,
	// images unchanged, a kind Airlock does not judge). Only for "images unchanged" are the
	// object, mode and policy set, for the quarantine guard.
	skip string

	mode       string
	policyName string
	policy     *classify.Policy
	w          *workload
	images     []judgedImage
	// action is the strictest verdict of all images.
	action v1alpha1.Action
	// policyErr is set when the selected policy is invalid; action is then deny.
	policyErr error
	// old is the object before an update; nil on create.
	old *workload
	// admins may release quarantines here.
	admins v1alpha1.QuarantineAdmins
}

type judgedImage struct {
	ref     imageRef
	result  classify.Result
	verdict classify.Verdict
	err     error
}

// judge decodes the request, finds the namespace's mode and policy, and classifies every image.
// An error is an admission error (bad request, API unreachable), which the webhook configuration's
// failurePolicy answers: fail closed in enforce namespaces, open in audit ones.
func (a *Admission) judge(ctx context.Context, req admission.Request) (*judgement, *admission.Response) {
	switch {
	case req.UID == "" || req.Kind.Kind == "" || req.Operation == "":
		// An empty or truncated review must not pass as "nothing to judge".
		r := admission.Errored(http.StatusBadRequest, errors.New("malformed AdmissionReview: request.uid, request.kind and request.operation are required"))
		return nil, &r
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update:
		return &judgement{skip: "operation " + string(req.Operation)}, nil
	case req.SubResource != "" && req.SubResource != "ephemeralcontainers":
		return &judgement{skip: "subresource " + req.SubResource}, nil
	case a.exempt[req.Namespace]:
		return &judgement{skip: "exempt namespace"}, nil
	}
	obj := newObject(schema.GroupVersionKind(req.Kind))
	if obj == nil {
		return &judgement{skip: "kind " + req.Kind.Kind}, nil
	}
	if err := a.decoder.DecodeRaw(req.Object, obj); err != nil {
		r := admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the %s: %w", req.Kind.Kind, err))
		return nil, &r
	}
	w, err := asWorkload(obj)
	if err != nil {
		r := admission.Errored(http.StatusBadRequest, err)
		return nil, &r
	}
	j := &judgement{w: w}
	imgs := w.images()
	if req.Operation == admissionv1.Update {
		old := newObject(schema.GroupVersionKind(req.Kind))
		if err := a.decoder.DecodeRaw(req.OldObject, old); err != nil {
			r := admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the old %s: %w", req.Kind.Kind, err))
			return nil, &r
		}
		if j.old, err = asWorkload(old); err != nil {
			r := admission.Errored(http.StatusBadRequest, err)
			return nil, &r
		}
	}

	var ns corev1.Namespace
	// Read-only use of the cached object: skipping the deep copy saves a copy per admission.
	if err := a.reader.Get(ctx, client.ObjectKey{Name: req.Namespace}, &ns, client.UnsafeDisableDeepCopy); err != nil {
		r := admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading namespace %s: %w", req.Namespace, err))
		return nil, &r
	}
	j.mode = ns.Labels[v1alpha1.LabelMode]
	if j.mode != v1alpha1.ModeEnforce && j.mode != v1alpha1.ModeAudit {
		return &judgement{skip: "namespace mode " + j.mode}, nil
	}
	var sel selected
	sel, j.policyErr = a.policies.forNamespace(ctx, &ns)
	j.policy, j.policyName, j.admins = sel.policy, sel.name, sel.admins
	if j.old != nil && sameImages(j.old.images(), imgs) {
		// Scaling, relabelling and status changes are never blocked: the images were judged when
		// they were set. The quarantine guard still looks at the change.
		j.skip = "images unchanged"
		return j, nil
	}
	if j.policyErr != nil {
		j.action = v1alpha1.ActionDeny
		return j, nil
	}

	names := make([]string, 0, len(imgs))
	for _, im := range imgs {
		if !slices.Contains(names, im.Image) {
			names = append(names, im.Image)
		}
	}
	results, errs := a.classifier.ClassifyAll(ctx, j.policy, names)
	j.action = v1alpha1.ActionAllow
	for _, im := range imgs {
		i := slices.Index(names, im.Image)
		ji := judgedImage{ref: im, result: results[i], err: errs[i]}
		if ji.err != nil {
			ji.verdict = classify.DecideError(j.policy, im.Image, ji.err)
		} else {
			ji.verdict = classify.Decide(j.policy, ji.result)
		}
		if severity(ji.verdict.Action) > severity(j.action) {
			j.action = ji.verdict.Action
		}
		j.images = append(j.images, ji)
	}
	return j, nil
}

func severity(a v1alpha1.Action) int {
	return map[v1alpha1.Action]int{v1alpha1.ActionQuarantine: 1, v1alpha1.ActionDeny: 2}[a]
}

// kindName names the object for messages: "Deployment web".
func (j *judgement) kindName(req admission.Request) string {
	name := req.Name
	if name == "" {
		name = j.w.obj.GetGenerateName() + "*"
	}
	return req.Kind.Kind + " " + name
}

// findings lists, one line per image whose verdict is not a plain allow, the field, the image and
// the reasons. Action filters by verdict ("" for all).
func (j *judgement) findings(action v1alpha1.Action) []string {
	if j.policyErr != nil {
		return []string{j.policyErr.Error()}
	}
	var out []string
	for _, im := range j.images {
		if len(im.verdict.Reasons) == 0 || (action != "" && im.verdict.Action != action) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %q: %s", im.ref.Path, im.ref.Image, strings.Join(im.verdict.Reasons, "; ")))
	}
	return out
}

// verdictAnnotation renders airlock.dev/verdict: the overall action, then each image by container
// or volume name, in pod-spec order.
func (j *judgement) verdictAnnotation() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict=%s,policy=%s", j.action, j.policyName)
	if j.policyErr != nil {
		b.WriteString(",policy-invalid")
	}
	for _, im := range j.images {
		fmt.Fprintf(&b, "; %s: ", im.ref.Name)
		if im.err != nil {
			b.WriteString("unclassified")
			if classifyUnavailable(im.err) {
				b.WriteString(",registry-unreachable")
			}
			continue
		}
		b.WriteString(im.result.Summary())
	}
	return b.String()
}

func classifyUnavailable(err error) bool { return errors.Is(err, classify.ErrRegistryUnavailable) }
