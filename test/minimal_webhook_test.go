package test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// minimalWebhookLabel selects namespaces for the minimal webhook: "allow" or "patch".
const minimalWebhookLabel = "airlock-test/minimal-webhook"

// startMinimalWebhook registers the cheapest mutating webhook there can be, the floor against
// which Airlock's cost is measured: controller-runtime's admission server over TLS with a handler
// that reads nothing of the object. In namespaces labelled "allow" it allows without a patch; in
// those labelled "patch" it answers with the one JSON Patch operation that writing an annotation
// takes, which is what the API server pays for any webhook that records a verdict on the object.
// It returns once the API server calls it; patchNS is a namespace labelled "patch".
func startMinimalWebhook(b *testing.B, patchNS string) {
	b.Helper()
	mux := http.NewServeMux()
	mux.Handle("/allow", &admission.Webhook{Handler: admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("")
	})})
	mux.Handle("/patch", &admission.Webhook{Handler: admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Patched("", jsonpatch.Operation{Operation: "add", Path: "/metadata/annotations",
			Value: map[string]string{minimalWebhookLabel: "patched"}})
	})})
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true // as Airlock's server
	srv.StartTLS()
	b.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	hook := func(label string) admissionregistrationv1.MutatingWebhook {
		url := srv.URL + "/" + label
		return admissionregistrationv1.MutatingWebhook{
			Name:         label + ".minimal.airlock-test.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			SideEffects: &none, FailurePolicy: &fail, AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{minimalWebhookLabel: label}},
		}
	}
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "airlock-test-minimal"},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{hook("allow"), hook("patch")},
	}
	if err := k8s.Create(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = k8s.Delete(context.Background(), cfg) })
	eventually(b, "the minimal webhook answers", func(ctx context.Context) (bool, error) {
		p := pod("probe", "busybox")
		if err := createIn(ctx, k8s, patchNS, p, client.DryRunAll); err != nil {
			return false, err
		}
		return p.Annotations[minimalWebhookLabel] == "patched", nil
	})
}
