package quarantine

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// NamespaceReconciler keeps one isolating NetworkPolicy (and CiliumNetworkPolicy where Cilium
// runs) in each namespace that has quarantined pods, and none elsewhere. Requests are namespaces.
type NamespaceReconciler struct {
	Client    client.Client
	Isolation Isolation
	// Cilium, when true, also keeps a CiliumNetworkPolicy (Cilium's CRDs exist in the cluster).
	Cilium bool
}

var _ reconcile.Reconciler = &NamespaceReconciler{}

// SetupWithManager registers the reconciler: any change to a pod or to an Airlock policy object
// re-checks its namespace (a deleted or edited NetworkPolicy is put back).
func (r *NamespaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
	})
	b := ctrl.NewControllerManagedBy(mgr).Named("quarantine-networkpolicy").
		Watches(&corev1.Pod{}, toNamespace, builder.WithPredicates(quarantinedPodChanged)).
		Watches(&networkingv1.NetworkPolicy{}, toNamespace)
	if r.Cilium {
		b = b.Watches(newCNP(), toNamespace)
	}
	return b.Complete(r)
}

// quarantinedPodChanged passes the pod events that can change a namespace's quarantined set: a
// quarantined pod appearing or going, or the label changing. The churn of every other pod (a
// rollout of thousands) never lists the namespace.
var quarantinedPodChanged = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return isQuarantined(e.Object) },
	DeleteFunc:  func(e event.DeleteEvent) bool { return isQuarantined(e.Object) },
	GenericFunc: func(e event.GenericEvent) bool { return isQuarantined(e.Object) },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return isQuarantined(e.ObjectOld) != isQuarantined(e.ObjectNew)
	},
}

func isQuarantined(o client.Object) bool { return o.GetLabels()[v1alpha1.LabelQuarantined] == "true" }

// Reconcile implements reconcile.Reconciler.
func (r *NamespaceReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ns := req.Name
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelQuarantined: "true"}); err != nil {
		return reconcile.Result{}, err
	}
	quarantinedPods.WithLabelValues(ns).Set(float64(len(pods.Items)))
	if len(pods.Items) == 0 {
		quarantinedPods.DeleteLabelValues(ns)
		if err := r.deleteIfExists(ctx, &networkingv1.NetworkPolicy{}, ns); err != nil {
			return reconcile.Result{}, err
		}
		if r.Cilium {
			return reconcile.Result{}, r.deleteIfExists(ctx, newCNP(), ns)
		}
		return reconcile.Result{}, nil
	}
	if err := r.ensureNetworkPolicy(ctx, ns); err != nil {
		return reconcile.Result{}, err
	}
	if r.Cilium {
		return reconcile.Result{}, r.ensureCNP(ctx, ns)
	}
	return reconcile.Result{}, nil
}

func (r *NamespaceReconciler) ensureNetworkPolicy(ctx context.Context, ns string) error {
	want := r.Isolation.NetworkPolicy(ns)
	have := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: ns}}
	return r.apply(ctx, have, func() { have.Labels, have.Spec = want.Labels, want.Spec })
}

// apply creates the policy, or restores it when it was edited, writing only on a difference.
func (r *NamespaceReconciler) apply(ctx context.Context, obj client.Object, set func()) error {
	op, err := controllerutil.CreateOrUpdate(ctx, r.Client, obj, func() error { set(); return nil })
	if err != nil {
		return fmt.Errorf("applying %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	if op != controllerutil.OperationResultNone {
		log.FromContext(ctx).Info("isolating policy "+string(op), "kind", fmt.Sprintf("%T", obj), "namespace", obj.GetNamespace())
	}
	return nil
}

// deleteIfExists deletes the named policy when the cache has it: namespaces without quarantine,
// the common case, cost no API call.
func (r *NamespaceReconciler) deleteIfExists(ctx context.Context, obj client.Object, ns string) error {
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: PolicyName}, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if err := r.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing %s/%s: %w", ns, PolicyName, err)
	}
	return nil
}
