package quarantine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// Event reasons, on the pod and on the object that asked.
const (
	ReasonQuarantined = "Quarantined"
	ReasonReleased    = "Released"
	ReasonTTLExpired  = "QuarantineExpired"
	ReasonBadTTL      = "InvalidQuarantineTTL"
)

// PodReconciler labels the pods that are to be quarantined, and only those.
type PodReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ reconcile.Reconciler = &PodReconciler{}

// SetupWithManager registers the reconciler: pods, and the workloads that can quarantine them.
func (r *PodReconciler) SetupWithManager(mgr ctrl.Manager) error {
	// Only the quarantine annotations of workloads matter here, not their status churn.
	annotations := builder.WithPredicates(predicate.AnnotationChangedPredicate{})
	b := ctrl.NewControllerManagedBy(mgr).Named("quarantine-pods").For(&corev1.Pod{}).
		// A namespace leaving enforce/audit mode releases its pods; entering it applies requests.
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.podsIn), builder.WithPredicates(predicate.LabelChangedPredicate{}))
	for _, w := range []client.Object{&appsv1.Deployment{}, &appsv1.ReplicaSet{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{}, &batchv1.Job{}, &batchv1.CronJob{}} {
		b = b.Watches(w, handler.EnqueueRequestsFromMapFunc(r.podsOf), annotations)
	}
	return b.Complete(r)
}

// podsIn maps a namespace to its pods.
func (r *PodReconciler) podsIn(ctx context.Context, ns client.Object) []reconcile.Request {
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(ns.GetName())); err != nil {
		log.FromContext(ctx).Error(err, "listing pods of a namespace", "namespace", ns.GetName())
		return nil
	}
	out := make([]reconcile.Request, len(pods.Items))
	for i := range pods.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pods.Items[i])}
	}
	return out
}

// podsOf maps a workload to the pods it owns, directly or through a ReplicaSet or Job.
func (r *PodReconciler) podsOf(ctx context.Context, obj client.Object) []reconcile.Request {
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(obj.GetNamespace())); err != nil {
		log.FromContext(ctx).Error(err, "listing pods of a workload", "workload", obj.GetName())
		return nil
	}
	var out []reconcile.Request
	for i := range pods.Items {
		chain, err := Chain(ctx, r.Client, &pods.Items[i])
		if err == nil && owns(chain, string(obj.GetUID())) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pods.Items[i])})
		}
	}
	return out
}

// Reconcile implements reconcile.Reconciler.
func (r *PodReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var pod corev1.Pod
	if err := r.Client.Get(ctx, req.NamespacedName, &pod); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !pod.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	chain, err := Chain(ctx, r.Client, &pod)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("reading the owners of pod %s: %w", req, err)
	}
	want := firstRequest(chain)
	// Airlock acts only where a namespace asks for it (airlock.dev/mode), as the webhooks do: the
	// guard that keeps a workload from lifting its own quarantine runs only there.
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, client.ObjectKey{Name: pod.Namespace}, &ns); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if m := ns.Labels[v1alpha1.LabelMode]; m != v1alpha1.ModeEnforce && m != v1alpha1.ModeAudit {
		want = nil
	}
	now := r.now()
	var requeue time.Duration

	if want != nil {
		if want.ttlErr != nil {
			r.event(want.holder, corev1.EventTypeWarning, ReasonBadTTL, "Validate", want.ttlErr.Error()+"; the quarantine holds without expiry")
		}
		if want.since.IsZero() {
			// Record when the quarantine began, on the object that asked: the TTL counts from it.
			if err := patchAnnotations(ctx, r.Client, want.holder, map[string]*string{v1alpha1.AnnotationQuarantinedAt: ptr(now.UTC().Format(time.RFC3339))}); err != nil {
				return reconcile.Result{}, err
			}
			want.since = now
		}
		if end, ok := want.expiry(); ok {
			if !now.Before(end) {
				return reconcile.Result{}, r.expire(ctx, want)
			}
			requeue = end.Sub(now)
		}
	}

	has := pod.Labels[v1alpha1.LabelQuarantined] == "true"
	switch {
	case want != nil && !has:
		if err := patchLabel(ctx, r.Client, &pod, ptr("true")); err != nil {
			return reconcile.Result{}, err
		}
		transitions.WithLabelValues("quarantine").Inc()
		r.event(&pod, corev1.EventTypeWarning, ReasonQuarantined, "Quarantine", fmt.Sprintf("pod isolated: asked by %s (%s) on %s; reason: %s",
			orUnknown(want.by), kindName(want.holder), want.since.UTC().Format(time.RFC3339), orUnknown(want.reason)))
		log.FromContext(ctx).Info("pod quarantined", "holder", kindName(want.holder), "by", want.by)
	case want == nil && has:
		if err := patchLabel(ctx, r.Client, &pod, nil); err != nil {
			return reconcile.Result{}, err
		}
		if err := clearLeftovers(ctx, r.Client, chain); err != nil {
			return reconcile.Result{}, err
		}
		transitions.WithLabelValues("release").Inc()
		r.event(&pod, corev1.EventTypeNormal, ReasonReleased, "Release", "quarantine lifted: no quarantine annotation on the pod or its workloads")
		log.FromContext(ctx).Info("pod released")
	}
	return reconcile.Result{RequeueAfter: requeue}, nil
}

// clearLeftovers removes what a lifted quarantine left on the pod and its workloads (reason,
// requester, start, TTL), so a release leaves no residue.
func clearLeftovers(ctx context.Context, c client.Client, chain []client.Object) error {
	for _, o := range chain {
		a := o.GetAnnotations()
		if a[v1alpha1.AnnotationQuarantine] == "true" {
			continue
		}
		rm := map[string]*string{}
		for _, k := range []string{v1alpha1.AnnotationQuarantine, v1alpha1.AnnotationQuarantineReason, v1alpha1.AnnotationQuarantinedBy, v1alpha1.AnnotationQuarantinedAt, AnnotationTTL} {
			if _, ok := a[k]; ok {
				rm[k] = nil
			}
		}
		if len(rm) > 0 {
			if err := patchAnnotations(ctx, c, o, rm); err != nil {
				return err
			}
		}
	}
	return nil
}

// expire ends a quarantine whose TTL has passed by removing the annotations from the object that
// asked; the pods then follow through their own reconciles.
func (r *PodReconciler) expire(ctx context.Context, q *request) error {
	if err := patchAnnotations(ctx, r.Client, q.holder, map[string]*string{
		v1alpha1.AnnotationQuarantine: nil, v1alpha1.AnnotationQuarantineReason: nil, v1alpha1.AnnotationQuarantinedBy: nil,
		v1alpha1.AnnotationQuarantinedAt: nil, AnnotationTTL: nil,
	}); err != nil {
		return err
	}
	r.event(q.holder, corev1.EventTypeNormal, ReasonTTLExpired, "Release", fmt.Sprintf("quarantine asked by %s expired after %s", orUnknown(q.by), q.ttl))
	return nil
}

func (r *PodReconciler) event(obj client.Object, typ, reason, action, note string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, typ, reason, action, "%s", note)
	}
}

func (r *PodReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// patchLabel sets (or, with nil, removes) the quarantined label with a merge patch that names only
// that label, so it never races with other writers of the pod.
func patchLabel(ctx context.Context, c client.Client, pod *corev1.Pod, v *string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]*string{v1alpha1.LabelQuarantined: v}}})
	if err := c.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("labelling pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// patchAnnotations sets or (nil values) removes annotations with a merge patch.
func patchAnnotations(ctx context.Context, c client.Client, obj client.Object, kv map[string]*string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("annotating %s: %w", kindName(obj), err)
	}
	return nil
}

func kindName(obj client.Object) string {
	kind := fmt.Sprintf("%T", obj)
	for i := len(kind) - 1; i >= 0; i-- {
		if kind[i] == '.' {
			kind = kind[i+1:]
			break
		}
	}
	return kind + " " + obj.GetNamespace() + "/" + obj.GetName()
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func ptr[T any](v T) *T { return &v }
