package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/test/controlplane"
)

// TestPlugin runs the plugin's commands against a real API server, as kubectl would invoke it.
func TestPlugin(t *testing.T) {
	env, err := controlplane.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	k8s, err := client.New(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}}
	for _, o := range []client.Object{ns, dep} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, error) {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(append([]string{"--kubeconfig", kubeconfig}, args...))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}

	if _, err := run("quarantine", "deploy/web", "-n", "team-a"); err == nil || !strings.Contains(err.Error(), "--reason is required") {
		t.Errorf("quarantine without a reason: %v", err)
	}
	if _, err := run("quarantine", "svc/web", "-n", "team-a", "--reason", "x"); err == nil {
		t.Error("quarantining a Service was accepted")
	}
	if _, err := run("quarantine", "deploy/web", "-n", "team-a", "--reason", "talks to a C2 host", "--ttl", "24h"); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
		t.Fatal(err)
	}
	if a := dep.Annotations; a[v1alpha1.AnnotationQuarantine] != "true" || a[v1alpha1.AnnotationQuarantineReason] != "talks to a C2 host" || a["airlock.dev/quarantine-ttl"] != "24h" {
		t.Errorf("annotations after quarantine: %v", a)
	}

	// A pod of the Deployment, labelled as the reconciler would, shows in status with the reason.
	ctrlTrue := true
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "team-a",
		Labels:          map[string]string{v1alpha1.LabelQuarantined: "true"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: dep.UID, Controller: &ctrlTrue}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	out, err := run("status", "-A")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "team-a") || !strings.Contains(out, "web-1") || !strings.Contains(out, "Deployment/web") || !strings.Contains(out, "talks to a C2 host") {
		t.Errorf("status:\n%s", out)
	}

	if _, err := run("release", "deployment/web", "-n", "team-a"); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
		t.Fatal(err)
	}
	if _, ok := dep.Annotations[v1alpha1.AnnotationQuarantine]; ok {
		t.Errorf("release left %s: %v", v1alpha1.AnnotationQuarantine, dep.Annotations)
	}
}
