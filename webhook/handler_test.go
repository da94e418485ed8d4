package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/test/testregistry"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// handlerFixture is the admission handlers with a fake API (namespaces and one policy) and a real
// in-process registry holding a signed image, a model server and an unsigned image.
type handlerFixture struct {
	adm                      *Admission
	scheme                   *runtime.Scheme
	signed, server, unsigned string
}

func newHandlerFixture(tb testing.TB) *handlerFixture {
	tb.Helper()
	reg := testregistry.New()
	tb.Cleanup(reg.Close)
	key, err := testregistry.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	f := &handlerFixture{}
	for _, img := range []struct {
		repo string
		cfg  testregistry.Image
		dst  *string
		sign bool
	}{
		{"trusted/app", testregistry.Image{Cmd: []string{"/app"}}, &f.signed, true},
		{"trusted/llm", testregistry.Image{Entrypoint: []string{"ollama", "serve"}}, &f.server, true},
		{"trusted/unsigned", testregistry.Image{Cmd: []string{"/x"}}, &f.unsigned, false},
	} {
		d, err := reg.PushImage(img.repo, "v1", img.cfg)
		if err != nil {
			tb.Fatal(err)
		}
		if img.sign {
			if err := reg.Sign(d, key); err != nil {
				tb.Fatal(err)
			}
		}
		*img.dst = reg.Ref(img.repo, ":v1")
	}
	f.scheme = runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(f.scheme)
	_ = v1alpha1.AddToScheme(f.scheme)
	pol := &v1alpha1.AirlockPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u1", Generation: 1}, Spec: v1alpha1.AirlockPolicySpec{
		Images: v1alpha1.ImagePolicy{TrustedRegistries: []string{reg.Host + "/trusted/**"},
			Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{PublicKey: string(key.PublicPEM)}}}}}}
	reader := fake.NewClientBuilder().WithScheme(f.scheme).WithObjects(pol,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{v1alpha1.LabelMode: v1alpha1.ModeEnforce}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dev", Labels: map[string]string{v1alpha1.LabelMode: v1alpha1.ModeAudit}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
	).Build()
	c, err := classify.NewRemote(reg.RemoteOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	f.adm, err = NewAdmission(Config{Reader: reader, Classifier: c, Scheme: f.scheme})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// review builds an AdmissionReview for creating a pod in ns.
func review(tb testing.TB, ns string, images ...string) []byte {
	tb.Helper()
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: string(rune('a' + i)), Image: img})
	}
	raw, _ := json.Marshal(p)
	return reviewOf(tb, ns, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, raw)
}

func reviewOf(tb testing.TB, ns string, kind metav1.GroupVersionKind, raw []byte) []byte {
	tb.Helper()
	ar := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "uid-1", Kind: kind, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: ns, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}}
	b, err := json.Marshal(ar)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// serve posts body to the webhook over HTTP, as the API server does, and decodes the answer.
func serve(tb testing.TB, h http.Handler, body io.Reader, contentType string) (*admissionv1.AdmissionReview, int) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, ValidatePath, body)
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil {
		tb.Fatalf("the webhook answered with something that is not an AdmissionReview (HTTP %d): %v\n%s", rec.Code, err, rec.Body.String())
	}
	return &ar, rec.Code
}

func TestMalformedReviewsGetClearErrors(t *testing.T) {
	f := newHandlerFixture(t)
	h := f.adm.Validator()
	podKind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	cases := []struct {
		name        string
		body        []byte
		contentType string
		want        string
	}{
		{"not JSON", []byte("{not json"), "application/json", ""},
		{"empty body", nil, "application/json", "malformed AdmissionReview"},
		{"wrong content type", review(t, "prod", f.signed), "text/plain", "contentType=text/plain, expected application/json"},
		{"no request", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), "application/json", "malformed AdmissionReview"},
		{"object is not a pod", reviewOf(t, "prod", podKind, []byte(`{"spec":5}`)), "application/json", "decoding the Pod"},
		{"metadata of the wrong type", reviewOf(t, "prod", podKind, []byte(`{"metadata":{"name":5}}`)), "application/json", "decoding the Pod"},
		{"unknown kind version", reviewOf(t, "prod", metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, []byte(`[]`)), "application/json", "decoding the Pod"},
		{"huge body", append(review(t, "prod", f.signed), bytes.Repeat([]byte(" "), 8<<20)...), "application/json", "request entity is too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ar, _ := serve(t, h, bytes.NewReader(c.body), c.contentType)
			r := ar.Response
			if r == nil || r.Allowed || r.Result == nil || r.Result.Code < 400 || r.Result.Message == "" {
				t.Fatalf("response %+v: want a refusal with a 4xx/5xx code and a message", r)
			}
			if c.want != "" && !strings.Contains(r.Result.Message, c.want) {
				t.Errorf("message %q lacks %q", r.Result.Message, c.want)
			}
		})
	}
}

func TestHandlerVerdicts(t *testing.T) {
	f := newHandlerFixture(t)
	cases := []struct {
		name    string
		ns      string
		images  []string
		allowed bool
		warn    string
	}{
		{"signed in enforce", "prod", []string{f.signed}, true, ""},
		{"unsigned in enforce", "prod", []string{f.signed, f.unsigned}, false, ""},
		{"unsigned in audit", "dev", []string{f.unsigned}, true, "would deny"},
		{"namespace off", "other", []string{f.unsigned}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ar, _ := serve(t, f.adm.Validator(), bytes.NewReader(review(t, c.ns, c.images...)), "application/json")
			if ar.Response.Allowed != c.allowed || ar.Response.UID != "uid-1" {
				t.Fatalf("allowed=%t uid=%q, want allowed=%t (%v)", ar.Response.Allowed, ar.Response.UID, c.allowed, ar.Response.Result)
			}
			if c.warn != "" && !strings.Contains(strings.Join(ar.Response.Warnings, "\n"), c.warn) {
				t.Errorf("warnings %q lack %q", ar.Response.Warnings, c.warn)
			}
		})
	}
}

// TestMutatePatchesOnlyMetadata: a quarantined pod gets annotations and the quarantined label,
// and nothing else of it is touched.
func TestMutatePatchesOnlyMetadata(t *testing.T) {
	f := newHandlerFixture(t)
	ar, _ := serve(t, f.adm.Mutator(), bytes.NewReader(review(t, "prod", f.server, f.signed)), "application/json")
	var ops []map[string]any
	if err := json.Unmarshal(ar.Response.Patch, &ops); err != nil {
		t.Fatalf("patch: %v", err)
	}
	if len(ops) == 0 {
		t.Fatal("no patch for a quarantined pod")
	}
	for _, op := range ops {
		if path, _ := op["path"].(string); !strings.HasPrefix(path, "/metadata/annotations") && !strings.HasPrefix(path, "/metadata/labels") {
			t.Errorf("patch touches %s: %v", path, op)
		}
	}
	if !strings.Contains(string(ar.Response.Patch), `"airlock.dev/quarantine":"true"`) &&
		!strings.Contains(string(ar.Response.Patch), `"airlock.dev~1quarantine"`) {
		t.Errorf("patch does not quarantine: %s", ar.Response.Patch)
	}
	if !strings.Contains(string(ar.Response.Patch), `"airlock.dev/quarantined":"true"`) {
		t.Errorf("a pod quarantined at admission is not labelled at once: %s", ar.Response.Patch)
	}
}

// BenchmarkValidatePodWarm measures the validating handler on a 3-container pod whose images are
// cached, including AdmissionReview decoding and encoding; it reports the p99 of its iterations.
func BenchmarkValidatePodWarm(b *testing.B) {
	f := newHandlerFixture(b)
	body := review(b, "prod", f.signed, f.server, f.unsigned)
	h := f.adm.Validator()
	serve(b, h, bytes.NewReader(body), "application/json") // warm the cache
	benchServe(b, h, ValidatePath, body)
}

// BenchmarkHandleWarm is the handler alone, without HTTP and JSON around it.
func BenchmarkHandleWarm(b *testing.B) {
	f := newHandlerFixture(b)
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(review(b, "prod", f.signed, f.server, f.unsigned), &ar); err != nil {
		b.Fatal(err)
	}
	req := admission.Request{AdmissionRequest: *ar.Request}
	f.adm.validate(context.Background(), req)
	b.ReportAllocs()
	for b.Loop() {
		f.adm.validate(context.Background(), req)
	}
}

// TestMutateAdmittedImages: the mutating webhook records the images of a plain allow in pod-spec
// order, replaces a hand-written record, removes one whenever the verdict is anything else, and
// its patch applies (as the API server applies it) without touching anything else.
func TestMutateAdmittedImages(t *testing.T) {
	f := newHandlerFixture(t)
	for _, tc := range []struct {
		name        string
		ns          string
		images      []string
		annotations string // metadata.annotations as JSON; "" leaves it out
		want        string // "" means absent
	}{
		{"allowed", "prod", []string{f.signed, f.signed}, "", f.signed + "," + f.signed},
		{"allowed, null annotations", "prod", []string{f.signed}, `null`, f.signed},
		{"allowed, other annotations kept", "prod", []string{f.signed}, `{"team":"a"}`, f.signed},
		{"allowed, hand-written record replaced", "prod", []string{f.signed}, `{"airlock.dev/admitted-images":"x","team":"a"}`, f.signed},
		{"quarantined, hand-written record removed", "prod", []string{f.server}, `{"airlock.dev/admitted-images":"` + f.server + `","team":"a"}`, ""},
		{"denied, hand-written record removed", "prod", []string{f.unsigned}, `{"airlock.dev/admitted-images":"` + f.unsigned + `"}`, ""},
		{"audit, allowed", "dev", []string{f.signed}, "", f.signed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var containers []map[string]any
			for i, img := range tc.images {
				containers = append(containers, map[string]any{"name": string(rune('a' + i)), "image": img})
			}
			meta := map[string]any{"name": "p", "namespace": tc.ns}
			if tc.annotations != "" {
				meta["annotations"] = json.RawMessage(tc.annotations)
			}
			raw, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta,
				"spec": map[string]any{"containers": containers}})
			if err != nil {
				t.Fatal(err)
			}
			ar, code := serve(t, f.adm.Mutator(), bytes.NewReader(reviewOf(t, tc.ns, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, raw)), "application/json")
			if code != http.StatusOK || !ar.Response.Allowed {
				t.Fatalf("mutate: HTTP %d, %+v", code, ar.Response)
			}
			got := applyPatch(t, ar, raw)
			if v, ok := got.Annotations[v1alpha1.AnnotationAdmittedImages]; v != tc.want || ok != (tc.want != "") {
				t.Errorf("admitted-images = %q (present %t), want %q", v, ok, tc.want)
			}
			if got.Annotations[v1alpha1.AnnotationVerdict] == "" {
				t.Errorf("no verdict annotation")
			}
			if strings.Contains(tc.annotations, "team") && got.Annotations["team"] != "a" {
				t.Errorf("the patch lost another annotation: %v", got.Annotations)
			}
			for i, c := range got.Spec.Containers {
				if c.Image != tc.images[i] {
					t.Errorf("image %d rewritten: %q -> %q", i, tc.images[i], c.Image)
				}
			}
		})
	}
}

// BenchmarkMutatePodWarm is the mutating webhook on a 3-container pod whose images are cached and
// allowed, with AdmissionReview decoding and encoding.
func BenchmarkMutatePodWarm(b *testing.B) {
	f := newHandlerFixture(b)
	body := review(b, "prod", f.signed, f.signed, f.signed)
	h := f.adm.Mutator()
	if ar, _ := serve(b, h, bytes.NewReader(body), "application/json"); len(ar.Response.Patch) == 0 {
		b.Fatalf("no patch: %+v", ar.Response)
	}
	benchServe(b, h, MutatePath, body)
}

// TestMutateDropsRecordWhenNotJudging: where this replica does not judge (its cached namespace is
// not in a mode), a hand-written record is still removed on create, so it cannot skip a
// validating webhook the API server calls.
func TestMutateDropsRecordWhenNotJudging(t *testing.T) {
	f := newHandlerFixture(t)
	raw := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"other","annotations":{"airlock.dev/admitted-images":"evil:1","team":"a"}},"spec":{"containers":[{"name":"a","image":"evil:1"}]}}`)
	ar, code := serve(t, f.adm.Mutator(), bytes.NewReader(reviewOf(t, "other", metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, raw)), "application/json")
	if code != http.StatusOK || !ar.Response.Allowed {
		t.Fatalf("mutate: HTTP %d, %+v", code, ar.Response)
	}
	got := applyPatch(t, ar, raw)
	if _, ok := got.Annotations[v1alpha1.AnnotationAdmittedImages]; ok || got.Annotations["team"] != "a" || got.Spec.Containers[0].Image != "evil:1" {
		t.Errorf("after the patch: annotations %v, image %q", got.Annotations, got.Spec.Containers[0].Image)
	}
	// Without a record there is nothing to patch.
	ar, _ = serve(t, f.adm.Mutator(), bytes.NewReader(review(t, "other", "evil:1")), "application/json")
	if len(ar.Response.Patch) != 0 {
		t.Errorf("patched an unjudged pod without a record: %s", ar.Response.Patch)
	}
}

// benchServe posts body to h in a loop, as the API server would, and reports allocations and the
// p50 and p99 of the iterations.
func benchServe(b *testing.B, h http.Handler, path string, body []byte) {
	b.ReportAllocs()
	lat := newLatencies(b.N)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		lat.time(func() { h.ServeHTTP(rec, req) })
	}
	lat.report(b)
}

// applyPatch applies a mutating webhook's JSON Patch to raw as the API server does and decodes
// the pod it gives.
func applyPatch(t *testing.T, ar *admissionv1.AdmissionReview, raw []byte) corev1.Pod {
	t.Helper()
	patch, err := jsonpatch.DecodePatch(ar.Response.Patch)
	if err != nil {
		t.Fatalf("patch %s: %v", ar.Response.Patch, err)
	}
	out, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("applying %s: %v", ar.Response.Patch, err)
	}
	var got corev1.Pod
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}
