package ratelimiter

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// CachedNamespaces reads namespace labels from a controller-runtime cache.
type CachedNamespaces struct{ Reader client.Reader }

// Labels implements Namespaces.
func (c CachedNamespaces) Labels(ctx context.Context, name string) (labels.Labels, bool, error) {
	var ns corev1.Namespace
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return labels.Set(ns.Labels), true, nil
}

// PolicyWatcher keeps a Limiter's rules in step with the cluster's AirlockPolicies: every change
// recompiles them all (there are few), so the rules never depend on the order of events. An
// invalid policy is left out (its Valid condition, written by the controller, says why) and the
// others stay in force.
type PolicyWatcher struct {
	Reader  client.Reader
	Limiter *Limiter
}

// SetupWithManager loads the rules once the cache has synced, then on every policy change.
func (w *PolicyWatcher) SetupWithManager(mgr ctrl.Manager) error {
	w.Reader = mgr.GetCache()
	if err := mgr.Add(initialSync{w}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("ratelimit-policies").For(&v1alpha1.AirlockPolicy{}).Complete(w)
}

// Reconcile recompiles the rate limits of every AirlockPolicy.
func (w *PolicyWatcher) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	var list v1alpha1.AirlockPolicyList
	if err := w.Reader.List(ctx, &list); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing AirlockPolicies: %w", err)
	}
	log := logf.FromContext(ctx)
	valid := list.Items[:0]
	for _, p := range list.Items {
		if errs := p.Validate(); len(errs) > 0 {
			log.Info("AirlockPolicy is invalid; its rate limits are not applied", "policy", p.Name, "error", errs.ToAggregate().Error())
			continue
		}
		valid = append(valid, p)
	}
	rules, err := CompileRules(valid)
	if err != nil {
		return reconcile.Result{}, err
	}
	w.Limiter.SetRules(rules)
	log.V(1).Info("rate limits reloaded", "policies", len(valid))
	return reconcile.Result{}, nil
}

// initialSync loads the rules when there are no policies to trigger a reconcile; until the
// rules are loaded the Limiter is not ready.
type initialSync struct{ w *PolicyWatcher }

func (s initialSync) Start(ctx context.Context) error {
	_, err := s.w.Reconcile(logf.IntoContext(ctx, logf.FromContext(ctx).WithName("ratelimit-policies")), reconcile.Request{})
	return err
}

// NeedLeaderElection: every replica serves decisions, so every replica loads the rules.
func (initialSync) NeedLeaderElection() bool { return false }
