package webhook

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// workload is an admitted object seen through what Airlock judges: its metadata, its pod spec, and
// (for workloads) the pod template's metadata, which the pods it creates inherit.
type workload struct {
	obj client.Object
	// specPath is the field path of the pod spec ("spec", "spec.template.spec", ...).
	specPath string
	spec     *corev1.PodSpec
	// template is the pod template's metadata; nil for a bare Pod.
	template *metav1.ObjectMeta
}

// newObject returns an empty object for a supported kind, or nil.
func newObject(gvk schema.GroupVersionKind) client.Object {
	switch gvk {
	case corev1.SchemeGroupVersion.WithKind("Pod"):
		return &corev1.Pod{}
	case appsv1.SchemeGroupVersion.WithKind("Deployment"):
		return &appsv1.Deployment{}
	case appsv1.SchemeGroupVersion.WithKind("StatefulSet"):
		return &appsv1.StatefulSet{}
	case appsv1.SchemeGroupVersion.WithKind("DaemonSet"):
		return &appsv1.DaemonSet{}
	case appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):
		return &appsv1.ReplicaSet{}
	case batchv1.SchemeGroupVersion.WithKind("Job"):
		return &batchv1.Job{}
	case batchv1.SchemeGroupVersion.WithKind("CronJob"):
		return &batchv1.CronJob{}
	}
	return nil
}

// asWorkload views a decoded object as a workload.
func asWorkload(obj runtime.Object) (*workload, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &workload{obj: o, specPath: "spec", spec: &o.Spec}, nil
	case *appsv1.Deployment:
		return &workload{obj: o, specPath: "spec.template.spec", spec: &o.Spec.Template.Spec, template: &o.Spec.Template.ObjectMeta}, nil
	case *appsv1.StatefulSet:
		return &workload{obj: o, specPath: "spec.template.spec", spec: &o.Spec.Template.Spec, template: &o.Spec.Template.ObjectMeta}, nil
	case *appsv1.DaemonSet:
		return &workload{obj: o, specPath: "spec.template.spec", spec: &o.Spec.Template.Spec, template: &o.Spec.Template.ObjectMeta}, nil
	case *appsv1.ReplicaSet:
		return &workload{obj: o, specPath: "spec.template.spec", spec: &o.Spec.Template.Spec, template: &o.Spec.Template.ObjectMeta}, nil
	case *batchv1.Job:
		return &workload{obj: o, specPath: "spec.template.spec", spec: &o.Spec.Template.Spec, template: &o.Spec.Template.ObjectMeta}, nil
	case *batchv1.CronJob:
		t := &o.Spec.JobTemplate.Spec.Template
		return &workload{obj: o, specPath: "spec.jobTemplate.spec.template.spec", spec: &t.Spec, template: &t.ObjectMeta}, nil
	}
	return nil, fmt.Errorf("airlock does not judge %T", obj)
}

// imageRef is one image a pod spec runs, with the field that names it.
type imageRef struct {
	// Path is the field path, for messages: spec.containers[0].image.
	Path string
	// Name is the container's or the volume's name, for the verdict annotation.
	Name  string
	Image string
}

// images lists every image a pod spec runs: containers, init containers, ephemeral containers,
// and image volumes (which is how KServe modelcars and other OCI model volumes are mounted).
func (w *workload) images() []imageRef {
	var out []imageRef
	s := w.spec
	for i, c := range s.InitContainers {
		out = append(out, imageRef{fmt.Sprintf("%s.initContainers[%d].image", w.specPath, i), c.Name, c.Image})
	}
	for i, c := range s.Containers {
		out = append(out, imageRef{fmt.Sprintf("%s.containers[%d].image", w.specPath, i), c.Name, c.Image})
	}
	for i, c := range s.EphemeralContainers {
		out = append(out, imageRef{fmt.Sprintf("%s.ephemeralContainers[%d].image", w.specPath, i), c.Name, c.Image})
	}
	for i, v := range s.Volumes {
		if v.Image != nil {
			out = append(out, imageRef{fmt.Sprintf("%s.volumes[%d].image.reference", w.specPath, i), v.Name, v.Image.Reference})
		}
	}
	return out
}

// sameImages reports whether two workloads run the same images in the same places, so an update
// that changes only replicas, labels or status is never judged (and never blocked) again.
func sameImages(a, b []imageRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
