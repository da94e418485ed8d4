package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// ControllerName names the reconciler in logs, metrics and events.
const ControllerName = "airlockpolicy-status"

// SecretRecheckInterval is how often a policy that reads keys or trust roots from Secrets is
// compiled again, so a rotated or repaired Secret is picked up without watching every Secret of
// the cluster (which would need list and watch on all of them).
const SecretRecheckInterval = 5 * time.Minute

// Reconciler compiles each AirlockPolicy and records the outcome in its Valid condition: True
// with reason Compiled, or False with reason Invalid and a message that names the field and the
// fix. It writes status only when the condition or the observed generation changes, and emits an
// Event when validity flips.
type Reconciler struct {
	Client client.Client
	// Secrets reads the Secrets that policies name (keys, trust roots). Use an uncached reader
	// so only `get` on Secrets is needed.
	Secrets classify.SecretReader
	// Recorder receives the Events; nil records none.
	Recorder events.EventRecorder
}

var _ reconcile.Reconciler = &Reconciler{}

// Setup adds the reconciler to a manager, reading Secrets uncached and recording Events.
func Setup(mgr ctrl.Manager) error {
	r := &Reconciler{Client: mgr.GetClient(), Secrets: SecretReader{Reader: mgr.GetAPIReader()},
		Recorder: mgr.GetEventRecorder(ControllerName)}
	return r.SetupWithManager(mgr)
}

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named(ControllerName).For(&v1alpha1.AirlockPolicy{}).Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	var p v1alpha1.AirlockPolicy
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}

	cond := metav1.Condition{Type: v1alpha1.ConditionValid, ObservedGeneration: p.Generation}
	if _, err := Compile(ctx, &p, r.Secrets); err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, v1alpha1.ReasonInvalid, err.Error()
	} else {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, v1alpha1.ReasonCompiled, "policy compiled and in force"
	}

	before := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionValid)
	flipped := before == nil || before.Status != cond.Status
	changed := meta.SetStatusCondition(&p.Status.Conditions, cond)
	if changed || p.Status.ObservedGeneration != p.Generation {
		p.Status.ObservedGeneration = p.Generation
		if err := r.Client.Status().Update(ctx, &p); err != nil {
			if apierrors.IsConflict(err) {
				return reconcile.Result{Requeue: true}, nil // a newer version is on its way to us
			}
			return reconcile.Result{}, fmt.Errorf("updating the status of AirlockPolicy %s: %w", p.Name, err)
		}
		logger.Info("policy status updated", "valid", cond.Status, "reason", cond.Reason)
	}
	if flipped && r.Recorder != nil {
		typ := corev1.EventTypeNormal
		if cond.Status == metav1.ConditionFalse {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(&p, nil, typ, cond.Reason, "Compile", "%s", cond.Message)
	}
	if UsesSecrets(&p) {
		return reconcile.Result{RequeueAfter: SecretRecheckInterval}, nil
	}
	return reconcile.Result{}, nil
}

// Compile validates a whole policy and compiles its image section.
func Compile(ctx context.Context, p *v1alpha1.AirlockPolicy, secrets classify.SecretReader) (*classify.Policy, error) {
	if errs := p.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return classify.Compile(ctx, p.Spec.Images, secrets)
}

// UsesSecrets reports whether a policy reads keys or trust roots from Secrets, which can change
// without the policy changing.
func UsesSecrets(p *v1alpha1.AirlockPolicy) bool {
	for _, a := range p.Spec.Images.Authorities {
		if (a.Key != nil && a.Key.SecretRef != nil) || (a.Keyless != nil && a.Keyless.TrustRoot.SecretRef != nil) {
			return true
		}
	}
	return false
}

// SecretReader reads Secret keys with a Kubernetes client. Give it an uncached reader
// (manager.GetAPIReader) so Airlock needs only `get` on the Secrets that policies name.
type SecretReader struct {
	Reader client.Reader
}

// SecretValue implements classify.SecretReader.
func (s SecretReader) SecretValue(ctx context.Context, ref v1alpha1.SecretKeySelector) ([]byte, error) {
	var sec corev1.Secret
	if err := s.Reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret not found: create it, or fix the reference")
		}
		return nil, err
	}
	v, ok := sec.Data[ref.Key]
	if !ok {
		return nil, errors.New("the secret has no such key")
	}
	return v, nil
}
