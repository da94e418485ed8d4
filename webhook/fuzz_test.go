package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/airlock-dev/airlock/webhook/classify"
)

// offlineRegistry answers every lookup from memory: fuzzed image names must never reach the network.
type offlineRegistry struct{}

func (offlineRegistry) Inspect(_ context.Context, ref name.Reference) (*classify.Artifact, error) {
	h, _, _ := v1.SHA256(bytes.NewReader([]byte(ref.Name())))
	return &classify.Artifact{Digest: h, ConfigMediaType: "application/vnd.oci.image.config.v1+json", Config: &v1.Config{}}, nil
}

func (offlineRegistry) Verify(context.Context, name.Digest, []classify.Authority) (classify.SignatureStatus, string, error) {
	return classify.SignatureUnsigned, "", nil
}

// FuzzAdmissionReview feeds arbitrary bytes to both webhooks over HTTP, as bodies and as the object
// of an otherwise well-formed review. Every answer must be a well-formed AdmissionReview; a refusal
// must carry a code and a message. Panics are not recovered here, so the fuzzer sees them.
func FuzzAdmissionReview(f *testing.F) {
	fx := newHandlerFixture(f)
	fx.adm.classifier = classify.New(offlineRegistry{}, offlineRegistry{}, nil)
	hooks := []http.Handler{
		&admission.Webhook{Handler: admission.HandlerFunc(fx.adm.validate)},
		&admission.Webhook{Handler: admission.HandlerFunc(fx.adm.mutate)},
	}
	for _, seed := range [][]byte{
		review(f, "prod", "ghcr.io/acme/app:1"),
		review(f, "dev", "nginx", "ghcr.io/acme/app@sha256:"+string(bytes.Repeat([]byte("a"), 64))),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"prod","operation":"CREATE","object":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x"}],"volumes":[{"name":"v","image":{"reference":"y"}}]}}}}}}`),
		[]byte(`{"request":{"uid":"1","kind":{"group":"batch","version":"v1","kind":"CronJob"},"namespace":"prod","operation":"UPDATE","object":{},"oldObject":{}}}`),
		[]byte(`{"spec":{"containers":[{"image":"::"}]}}`),
		[]byte("{}"), []byte("null"), []byte(""),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOneWith(t, hooks, data) })
}

// fuzzOneWith is one fuzz iteration.
func fuzzOneWith(t *testing.T, hooks []http.Handler, data []byte) {
	podKind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	{
		bodies := [][]byte{data}
		if json.Valid(data) {
			bodies = append(bodies, reviewOf(t, "prod", podKind, data))
		}
		for _, body := range bodies {
			for _, h := range hooks {
				req := httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				var ar admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil || ar.Response == nil {
					t.Fatalf("answer is not an AdmissionReview: %v\n%s", err, rec.Body.String())
				}
				if r := ar.Response; !r.Allowed && (r.Result == nil || r.Result.Code == 0 || r.Result.Message == "") {
					t.Fatalf("refusal without code or message: %+v", r)
				}
			}
		}
	}
}
