package test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/webhook"
)

// TestSkipAdmittedCondition runs the enforce validating webhook's match condition in the real API
// server, in front of a probe webhook that denies everything it is asked: the probe must be skipped
// exactly for creates whose airlock.dev/admitted-images reads the object's images, in the order
// the mutating webhook writes them, for pods and for the templates of workloads.
func TestSkipAdmittedCondition(t *testing.T) {
	ctx := testContext(t)
	var calls atomic.Int64
	probe := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var ar admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&ar); err != nil || ar.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		ar.Response = &admissionv1.AdmissionResponse{UID: ar.Request.UID, Allowed: false,
			Result: &metav1.Status{Code: http.StatusForbidden, Message: "probe called"}}
		ar.Request = nil
		_ = json.NewEncoder(w).Encode(&ar)
	}))
	t.Cleanup(probe.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: probe.Certificate().Raw})

	ns := newNamespace(t, "", map[string]string{"airlock.dev/probe": t.Name()})
	url, fail, none := probe.URL+"/validate", admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	scope := admissionregistrationv1.NamespacedScope
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources, Scope: &scope}}
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "airlock-condition-probe"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "probe.airlock.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules:                   []admissionregistrationv1.RuleWithOperations{rule("", "pods"), rule("apps", "deployments"), rule("batch", "cronjobs")},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"airlock.dev/probe": t.Name()}},
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions:         []admissionregistrationv1.MatchCondition{webhook.SkipAdmittedCondition()},
		}}}
	if err := k8s.Create(ctx, vwc); err != nil {
		t.Fatalf("the API server refused the match condition: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), vwc) })
	eventually(t, "the probe webhook is called", func(ctx context.Context) (bool, error) {
		err := createIn(ctx, k8s, ns, pod("wait", "example.com/a:1"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "probe called"), nil
	})

	admitted := func(obj client.Object, images string) client.Object {
		obj.SetAnnotations(map[string]string{v1alpha1.AnnotationAdmittedImages: images, "other": "kept"})
		return obj
	}
	// Pod spec order: init containers, containers, ephemeral containers, image volumes.
	full := func(name string) *corev1.Pod {
		p := pod(name, "example.com/app:1", "example.com/side@sha256:"+strings.Repeat("a", 64))
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "example.com/init:1"}}
		p.Spec.Volumes = []corev1.Volume{
			{Name: "weights", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "example.com/model:1"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}
		return p
	}
	fullImages := "example.com/init:1,example.com/app:1,example.com/side@sha256:" + strings.Repeat("a", 64) + ",example.com/model:1"
	cronJob := func(name, image string) *batchv1.CronJob {
		return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.CronJobSpec{Schedule: "@daily",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: image}}}}}}}}
	}
	for _, tc := range []struct {
		name    string
		obj     client.Object
		skipped bool
	}{
		{"pod with its images admitted", admitted(full("p1"), fullImages), true},
		{"pod without the annotation", full("p2"), false},
		{"pod whose image changed after admission", admitted(pod("p3", "example.com/evil:1"), "example.com/app:1"), false},
		{"pod with an image added after admission", admitted(pod("p4", "example.com/app:1", "example.com/evil:1"), "example.com/app:1"), false},
		{"pod admitted in another order", admitted(pod("p5", "example.com/b:1", "example.com/a:1"), "example.com/a:1,example.com/b:1"), false},
		{"pod whose image volume changed", admitted(full("p6"), strings.Replace(fullImages, "model:1", "model:2", 1)), false},
		{"deployment with its template admitted", admitted(deployment("d1", "example.com/app:1"), "example.com/app:1"), true},
		{"deployment whose template changed", admitted(deployment("d2", "example.com/evil:1"), "example.com/app:1"), false},
		{"cronjob with its template admitted", admitted(cronJob("c1", "example.com/app:1"), "example.com/app:1"), true},
		{"cronjob whose template changed", admitted(cronJob("c2", "example.com/evil:1"), "example.com/app:1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			err := createIn(ctx, k8s, ns, tc.obj)
			called := calls.Load() > before
			switch {
			case tc.skipped && (err != nil || called):
				t.Errorf("want the validating webhook skipped: create = %v, called %t", err, called)
			case !tc.skipped && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "probe called")):
				t.Errorf("want the validating webhook called: create = %v", err)
			}
		})
	}

	// Updates are always validated, even with the images admitted.
	var p corev1.Pod
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "p1"}, &p); err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"touched": "yes"}
	if err := k8s.Update(ctx, &p); err == nil || !strings.Contains(err.Error(), "probe called") {
		t.Errorf("update of an admitted pod skipped validation: %v", err)
	}
	var d appsv1.Deployment
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "d1"}, &d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Image = "example.com/evil:1"
	if err := k8s.Update(ctx, &d); err == nil || !strings.Contains(err.Error(), "probe called") {
		t.Errorf("update of an admitted deployment skipped validation: %v", err)
	}
}
