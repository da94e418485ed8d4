package quarantine

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxOwnerDepth bounds the walk up owner references (Pod → ReplicaSet → Deployment is 2;
// Pod → Job → CronJob is 2); deeper chains of built-in workloads do not exist.
const maxOwnerDepth = 3

// Chain returns the object and the built-in workloads that own it, innermost first, read through
// the reader (the manager's cache). Owners that are gone or of other kinds end the walk.
func Chain(ctx context.Context, r client.Reader, obj client.Object) ([]client.Object, error) {
	out := []client.Object{obj}
	cur := obj
	for range maxOwnerDepth {
		ref := metav1.GetControllerOf(cur)
		if ref == nil {
			break
		}
		owner := newOwner(ref)
		if owner == nil {
			break
		}
		if err := r.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: ref.Name}, owner); err != nil {
			if apierrors.IsNotFound(err) {
				break
			}
			return nil, err
		}
		if owner.GetUID() != ref.UID {
			break // a different object of the same name
		}
		out = append(out, owner)
		cur = owner
	}
	return out, nil
}

func newOwner(ref *metav1.OwnerReference) client.Object {
	switch {
	case ref.APIVersion == "apps/v1" && ref.Kind == "ReplicaSet":
		return &appsv1.ReplicaSet{}
	case ref.APIVersion == "apps/v1" && ref.Kind == "Deployment":
		return &appsv1.Deployment{}
	case ref.APIVersion == "apps/v1" && ref.Kind == "StatefulSet":
		return &appsv1.StatefulSet{}
	case ref.APIVersion == "apps/v1" && ref.Kind == "DaemonSet":
		return &appsv1.DaemonSet{}
	case ref.APIVersion == "batch/v1" && ref.Kind == "Job":
		return &batchv1.Job{}
	case ref.APIVersion == "batch/v1" && ref.Kind == "CronJob":
		return &batchv1.CronJob{}
	}
	return nil
}

// PodQuarantined reports whether a pod, or a workload owning it, asks for quarantine. The
// mutating webhook uses it to label pods of quarantined workloads at creation.
func PodQuarantined(ctx context.Context, r client.Reader, pod *corev1.Pod) (bool, error) {
	chain, err := Chain(ctx, r, pod)
	if err != nil {
		return false, err
	}
	return firstRequest(chain) != nil, nil
}

// owns reports whether the chain contains obj.
func owns(chain []client.Object, uid string) bool {
	for _, o := range chain {
		if string(o.GetUID()) == uid {
			return true
		}
	}
	return false
}
