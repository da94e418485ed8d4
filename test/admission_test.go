package test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/test/testregistry"
	"github.com/airlock-dev/airlock/webhook"
)

// admissionFixture: one registry with a trusted and an untrusted part, images of every kind, and
// two policies: "failopen" for namespaces labelled airlock-test/failure=open, "strict" for the rest.
type admissionFixture struct {
	reg                                           *testregistry.Registry
	key, otherKey                                 *testregistry.Key
	untrusted, signed, otherSigned, model, server string
}

func newAdmissionFixture(t testing.TB) *admissionFixture {
	t.Helper()
	f := &admissionFixture{reg: testregistry.New()}
	t.Cleanup(f.reg.Close)
	var err error
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.key, err = testregistry.NewKey()
	check(err)
	f.otherKey, err = testregistry.NewKey()
	check(err)
	push := func(repo string, img testregistry.Image, key *testregistry.Key) string {
		d, err := f.reg.PushImage(repo, "v1", img)
		check(err)
		if key != nil {
			check(f.reg.Sign(d, key))
		}
		return f.reg.Ref(repo, ":v1")
	}
	f.untrusted = push("untrusted/tool", testregistry.Image{Cmd: []string{"/tool"}}, nil)
	f.signed = push("trusted/app", testregistry.Image{Cmd: []string{"/app"}}, f.key)
	f.otherSigned = push("trusted/other", testregistry.Image{Cmd: []string{"/other"}}, f.otherKey)
	f.server = push("trusted/llm", testregistry.Image{Entrypoint: []string{"python3", "-m", "vllm.entrypoints.openai.api_server"}}, f.key)
	md, err := f.reg.PushModel("trusted/models/llama", "q4", testregistry.ModelPack)
	check(err)
	check(f.reg.Sign(md, f.key))
	f.model = f.reg.Ref("trusted/models/llama", ":q4")
	return f
}

// createPolicies installs the strict and fail-open policies trusting host/trusted/** and the key.
func createPolicies(t testing.TB, key *testregistry.Key, hosts ...string) {
	t.Helper()
	var trusted []string
	for _, h := range hosts {
		trusted = append(trusted, h+"/trusted/**")
	}
	images := v1alpha1.ImagePolicy{
		TrustedRegistries: trusted,
		Authorities:       []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{PublicKey: string(key.PublicPEM)}}},
	}
	open := images.DeepCopy()
	open.FailureMode = v1alpha1.FailOpen
	for _, p := range []*v1alpha1.AirlockPolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "failopen"}, Spec: v1alpha1.AirlockPolicySpec{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"airlock-test/failure": "open"}}, Images: *open}},
		{ObjectMeta: metav1.ObjectMeta{Name: "strict"}, Spec: v1alpha1.AirlockPolicySpec{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "airlock-test/failure", Operator: metav1.LabelSelectorOpDoesNotExist}}}, Images: images}},
	} {
		if err := k8s.Create(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), p) })
	}
}

func TestAdmission(t *testing.T) {
	f := newAdmissionFixture(t)
	down := testregistry.New() // a second registry, stopped mid-test
	key := f.key
	dCached, err := down.PushImage("trusted/cached", "v1", testregistry.Image{Cmd: []string{"/c"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Sign(dCached, key); err != nil {
		t.Fatal(err)
	}
	if _, err := down.PushImage("trusted/fresh", "v1", testregistry.Image{Cmd: []string{"/f"}}); err != nil {
		t.Fatal(err)
	}
	createPolicies(t, key, f.reg.Host, down.Host)
	startAirlock(t, f.reg, down)
	ctx := testContext(t)

	enforce := newNamespace(t, v1alpha1.ModeEnforce, nil)
	audit := newNamespace(t, v1alpha1.ModeAudit, nil)
	waitForWebhook(t, enforce, f.untrusted)

	t.Run("a: untrusted unsigned image is denied in enforce", func(t *testing.T) {
		// A hand-written airlock.dev/admitted-images changes nothing: the mutating webhook
		// removes it, so the validating webhook is called and denies.
		bad := pod("bad", f.untrusted)
		bad.Annotations = map[string]string{v1alpha1.AnnotationAdmittedImages: f.untrusted}
		err := createIn(ctx, k8s, enforce, bad)
		if !apierrors.IsForbidden(err) {
			t.Fatalf("create = %v, want Forbidden", err)
		}
		for _, want := range []string{"AirlockPolicy strict denies this Pod", "spec.containers[0].image", f.untrusted,
			"registry untrusted", "unsigned", "add its repository to the policy", "sign the digest"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q:\n%s", want, err)
			}
		}
	})

	t.Run("b: the same in audit is admitted with a warning and an Event", func(t *testing.T) {
		wc := newWarningClient(t)
		p := pod("audited", f.untrusted)
		if err := createIn(ctx, wc, audit, p); err != nil {
			t.Fatalf("audit namespace refused the pod: %v", err)
		}
		ws := strings.Join(wc.Warnings(), "\n")
		if !strings.Contains(ws, "airlock audit: AirlockPolicy strict would deny this Pod") || !strings.Contains(ws, "registry untrusted") {
			t.Errorf("warnings = %q", wc.Warnings())
		}
		waitForEvent(t, audit, "audited", "AirlockAudit")
		if got := p.Annotations[v1alpha1.AnnotationVerdict]; !strings.Contains(got, "verdict=deny") || !strings.Contains(got, "registry=untrusted,signature=unsigned") {
			t.Errorf("verdict annotation = %q", got)
		}
		if p.Annotations[v1alpha1.AnnotationQuarantine] != "" {
			t.Errorf("audit mode quarantined the pod")
		}
	})

	t.Run("c: signed by the trusted key is admitted, by another key denied as invalid", func(t *testing.T) {
		p := pod("good", f.signed, f.signed)
		validated := admissionCalls(t, "validate")
		if err := createIn(ctx, k8s, enforce, p); err != nil {
			t.Fatalf("signed image refused: %v", err)
		}
		if got := p.Annotations[v1alpha1.AnnotationVerdict]; !strings.Contains(got, "verdict=allow") || !strings.Contains(got, "signedBy=release") {
			t.Errorf("verdict annotation = %q", got)
		}
		// A plain allow costs the API server one webhook call: the mutating webhook records the
		// images it admitted and the validating webhook's match condition skips it.
		if got, want := p.Annotations[v1alpha1.AnnotationAdmittedImages], f.signed+","+f.signed; got != want {
			t.Errorf("admitted-images = %q, want %q", got, want)
		}
		if n := admissionCalls(t, "validate") - validated; n != 0 {
			t.Errorf("the validating webhook was called %v times for a plainly allowed pod, want 0", n)
		}
		err := createIn(ctx, k8s, enforce, pod("forged", f.otherSigned))
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "signature invalid") || !strings.Contains(err.Error(), "[release]") {
			t.Errorf("create = %v, want Forbidden naming an invalid signature", err)
		}
	})

	t.Run("d: model artifact volume and model server are quarantined", func(t *testing.T) {
		p := pod("llm", f.server)
		p.Spec.Volumes = []corev1.Volume{{Name: "weights", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: f.model}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "weights", MountPath: "/models"}}
		if err := createIn(ctx, k8s, enforce, p); err != nil {
			t.Fatalf("quarantined pod refused: %v", err)
		}
		var got corev1.Pod
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
			t.Fatal(err)
		}
		a := got.Annotations
		if a[v1alpha1.AnnotationQuarantine] != "true" || a[v1alpha1.AnnotationQuarantinedBy] == "" ||
			!strings.Contains(a[v1alpha1.AnnotationQuarantineReason], "AI model artifact") ||
			!strings.Contains(a[v1alpha1.AnnotationQuarantineReason], "model server") {
			t.Errorf("annotations = %v", a)
		}
		if v := a[v1alpha1.AnnotationVerdict]; !strings.Contains(v, "weights: registry=trusted,signature=verified,signedBy=release,kind=model") ||
			!strings.Contains(v, "kind=model-server") {
			t.Errorf("verdict = %q", v)
		}
		if got.Spec.Volumes[0].Image.Reference != f.model || got.Spec.Containers[0].Image != f.server {
			t.Errorf("image references changed: %q, %q", got.Spec.Volumes[0].Image.Reference, got.Spec.Containers[0].Image)
		}
	})

	t.Run("e: a Deployment is judged at the Deployment", func(t *testing.T) {
		bad := deployment("bad-deploy", f.untrusted)
		err := createIn(ctx, k8s, enforce, bad)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "this Deployment") ||
			!strings.Contains(err.Error(), "spec.template.spec.containers[0].image") {
			t.Errorf("create = %v, want the Deployment denied naming the template field", err)
		}
		q := deployment("model-deploy", f.server)
		if err := createIn(ctx, k8s, enforce, q); err != nil {
			t.Fatal(err)
		}
		if q.Annotations[v1alpha1.AnnotationQuarantine] != "true" || q.Spec.Template.Annotations[v1alpha1.AnnotationQuarantine] != "true" {
			t.Errorf("quarantine annotations: object %v, template %v", q.Annotations, q.Spec.Template.Annotations)
		}
		if q.Spec.Template.Annotations[v1alpha1.AnnotationQuarantinedBy] != "" {
			t.Errorf("the template carries the requester, so another user's apply would roll the pods")
		}
		// Scaling never re-judges the images, so it is never blocked.
		q.Spec.Replicas = ptr(int32(3))
		if err := k8s.Update(ctx, q); err != nil {
			t.Errorf("scaling a quarantined Deployment: %v", err)
		}
	})

	t.Run("f: CronJob and ephemeral containers are covered", func(t *testing.T) {
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "job", Image: f.untrusted}}}}}}}}
		err := createIn(ctx, k8s, enforce, cj)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "spec.jobTemplate.spec.template.spec.containers[0].image") {
			t.Errorf("CronJob create = %v, want Forbidden naming the job template", err)
		}
		p := pod("debug-me", f.signed)
		if err := createIn(ctx, k8s, enforce, p); err != nil {
			t.Fatal(err)
		}
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debugger", Image: f.untrusted, TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent}}}
		err = k8s.SubResource("ephemeralcontainers").Update(ctx, p)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "spec.ephemeralContainers[0].image") {
			t.Errorf("ephemeral container = %v, want Forbidden naming it", err)
		}
	})

	t.Run("g: a namespace without the label is untouched", func(t *testing.T) {
		off := newNamespace(t, "", nil)
		p := pod("free", f.untrusted)
		if err := createIn(ctx, k8s, off, p); err != nil {
			t.Fatalf("unlabelled namespace: %v", err)
		}
		if len(p.Annotations) != 0 {
			t.Errorf("annotations written in an unlabelled namespace: %v", p.Annotations)
		}
	})

	t.Run("h: registry outage", func(t *testing.T) {
		closed := enforce
		open := newNamespace(t, v1alpha1.ModeEnforce, map[string]string{"airlock-test/failure": "open"})
		cached := down.Ref("trusted/cached", "@"+dCached.DigestStr())
		for _, ns := range []string{closed, open} {
			if err := createIn(ctx, k8s, ns, pod("warm", cached)); err != nil {
				t.Fatalf("before the outage: %v", err)
			}
		}
		down.Close()
		fresh := down.Ref("trusted/fresh", ":v1")

		err := createIn(ctx, k8s, closed, pod("closed", fresh))
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "failureMode is closed") {
			t.Errorf("fail closed: create = %v, want Forbidden saying the registry is unreachable", err)
		}
		wc := newWarningClient(t)
		if err := createIn(ctx, wc, open, pod("open", fresh)); err != nil {
			t.Errorf("fail open: %v", err)
		} else if ws := strings.Join(wc.Warnings(), "\n"); !strings.Contains(ws, "admitted unverified") {
			t.Errorf("fail open without a warning: %q", wc.Warnings())
		}
		p := pod("cached", cached)
		if err := createIn(ctx, k8s, closed, p); err != nil {
			t.Errorf("cached verdict not served during the outage: %v", err)
		} else if !strings.Contains(p.Annotations[v1alpha1.AnnotationVerdict], "signature=verified") {
			t.Errorf("cached verdict annotation = %q", p.Annotations[v1alpha1.AnnotationVerdict])
		}
	})

	t.Run("i: no image reference is ever changed", func(t *testing.T) {
		for _, ns := range []string{enforce, audit} {
			var pods corev1.PodList
			if err := k8s.List(ctx, &pods, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			for _, p := range pods.Items {
				for _, c := range p.Spec.Containers {
					if strings.Contains(c.Image, "@sha256:") && !strings.Contains(p.Name, "warm") && !strings.Contains(p.Name, "cached") {
						t.Errorf("pod %s/%s: image %q was rewritten to a digest", ns, p.Name, c.Image)
					}
				}
			}
		}
	})
}

func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}}}
}

func ptr[T any](v T) *T { return &v }

// waitForEvent waits for an events.k8s.io Event about the named object with the reason.
func waitForEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == name && e.Reason == reason {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no %s event for %s/%s: %v", reason, ns, name, err)
	}
}

// TestConcurrentPodsResolveEachImageOnce: 20 pods created at once through the apiserver, all
// running the same 3 images, cost exactly 3 manifest resolutions at the registry.
func TestConcurrentPodsResolveEachImageOnce(t *testing.T) {
	reg := testregistry.New()
	t.Cleanup(reg.Close)
	key, err := testregistry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, repo := range []string{"trusted/a", "trusted/b", "trusted/c"} {
		d, err := reg.PushImage(repo, "v1", testregistry.Image{Cmd: []string{"/" + repo}})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Sign(d, key); err != nil {
			t.Fatal(err)
		}
		images = append(images, reg.Ref(repo, ":v1"))
	}
	untrusted, err := reg.PushImage("untrusted/probe", "v1", testregistry.Image{})
	if err != nil {
		t.Fatal(err)
	}
	createPolicies(t, key, reg.Host)
	startAirlock(t, reg)
	ns := newNamespace(t, v1alpha1.ModeEnforce, nil)
	waitForWebhook(t, ns, untrusted.String())
	reg.Reset()

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			p := pod("p"+string(rune('a'+i)), images...)
			errs <- createIn(context.Background(), k8s, ns, p)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	manifests := map[string]int{}
	for _, r := range reg.Requests() {
		if repo, ref, ok := r.Manifest(); ok && !r.IsSignature() {
			manifests[repo+":"+ref]++
		}
	}
	if len(manifests) != 3 || manifests["trusted/a:v1"] != 1 || manifests["trusted/b:v1"] != 1 || manifests["trusted/c:v1"] != 1 {
		t.Errorf("manifest resolutions = %v, want exactly one for each of the 3 images", manifests)
	}
}

// TestWebhookConfigurations checks what the API server is told: fail closed for enforce
// namespaces, open for audit ones, Airlock's namespace and kube-system exempt, dry runs free of side
// effects, and an owner whose deletion removes the configurations.
func TestWebhookConfigurations(t *testing.T) {
	ctx := testContext(t)
	owner := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "airlock-owner-test"}}
	if err := k8s.Create(ctx, owner); err != nil {
		t.Fatal(err)
	}
	ref := &metav1.OwnerReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: owner.Name, UID: owner.UID}
	ep := webhook.Endpoint{URL: "https://127.0.0.1:1"}
	if err := webhook.ApplyConfigurations(ctx, k8s, "airlock-config-test", ep, []string{"airlock-system", "kube-system"}, []byte("ca"), ref); err != nil {
		t.Fatal(err)
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := k8s.Get(ctx, client.ObjectKey{Name: "airlock-config-test"}, &v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), &v) })
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := k8s.Get(ctx, client.ObjectKey{Name: "airlock-config-test"}, &m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), &m) })
	for _, o := range []metav1.Object{&v, &m} {
		if refs := o.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != owner.UID {
			t.Errorf("%s: owner references %v, want the ClusterRole", o.GetName(), refs)
		}
	}
	want := map[string]admissionregistrationv1.FailurePolicyType{"enforce.validate.airlock.dev": admissionregistrationv1.Fail, "audit.validate.airlock.dev": admissionregistrationv1.Ignore}
	for _, wh := range v.Webhooks {
		if *wh.FailurePolicy != want[wh.Name] || *wh.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun {
			t.Errorf("%s: failurePolicy %s, sideEffects %s", wh.Name, *wh.FailurePolicy, *wh.SideEffects)
		}
		sel, err := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
		if err != nil {
			t.Fatal(err)
		}
		mode := strings.Split(wh.Name, ".")[0]
		for ns, match := range map[string]bool{"team-a": true, "kube-system": false, "airlock-system": false} {
			if got := sel.Matches(labels.Set{v1alpha1.LabelMode: mode, "kubernetes.io/metadata.name": ns}); got != match {
				t.Errorf("%s selects namespace %s: %t, want %t", wh.Name, ns, got, match)
			}
		}
		if sel.Matches(labels.Set{"kubernetes.io/metadata.name": "team-b"}) {
			t.Errorf("%s selects a namespace without %s", wh.Name, v1alpha1.LabelMode)
		}
	}
	// Applying again changes nothing.
	rv := v.ResourceVersion
	if err := webhook.ApplyConfigurations(ctx, k8s, "airlock-config-test", ep, []string{"airlock-system", "kube-system"}, []byte("ca"), ref); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "airlock-config-test"}, &v); err != nil || v.ResourceVersion != rv {
		t.Errorf("re-applying rewrote the configuration (resourceVersion %s -> %s, %v)", rv, v.ResourceVersion, err)
	}
}

// admissionCalls sums airlock_admission_requests_total of one webhook (validate, mutate) in this
// process, where the tests run Airlock.
func admissionCalls(t testing.TB, webhook string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range families {
		if mf.GetName() != "airlock_admission_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == webhook {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}
