package webhook

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// DefaultPolicyName names the built-in policy that applies where no AirlockPolicy selects a
// namespace labelled for Airlock: it trusts no registry and no signer (fail closed).
const DefaultPolicyName = "(built-in default)"

// policies finds and compiles the AirlockPolicy that applies to a namespace. Compiled policies are
// reused until the policy's generation changes.
type policies struct {
	reader  client.Reader
	secrets classify.SecretReader

	mu       sync.Mutex
	compiled map[types.UID]compiledPolicy
	fallback *classify.Policy
}

type compiledPolicy struct {
	generation int64
	at         time.Time
	policy     *classify.Policy
	err        error
}

func newPolicies(reader client.Reader, secrets classify.SecretReader) (*policies, error) {
	fb, err := classify.Compile(context.Background(), classify.DefaultImagePolicy(), nil)
	if err != nil {
		return nil, err
	}
	return &policies{reader: reader, secrets: secrets, compiled: map[types.UID]compiledPolicy{}, fallback: fb}, nil
}

// selected is the policy that applies to a namespace.
type selected struct {
	policy *classify.Policy
	name   string
	admins v1alpha1.QuarantineAdmins
}

// forNamespace returns the policy for a namespace. Of several policies that select the namespace,
// the one whose name sorts first applies, so the choice never depends on watch order. An invalid
// policy is an error (its name is still returned): callers fail closed in enforce mode.
func (ps *policies) forNamespace(ctx context.Context, ns *corev1.Namespace) (selected, error) {
	var list v1alpha1.AirlockPolicyList
	// Policies are only read (compiling deep-copies what it keeps), so the cache's objects are
	// listed without copying them on every admission.
	if err := ps.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return selected{}, fmt.Errorf("listing AirlockPolicies: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	for i := range list.Items {
		p := &list.Items[i]
		if !selects(p, ns) {
			continue
		}
		sel := selected{name: p.Name, admins: *p.Spec.Quarantine.Admins.DeepCopy()}
		cp, err := ps.compile(ctx, p)
		if err != nil {
			return sel, fmt.Errorf("AirlockPolicy %s is invalid, fix it (kubectl describe airlockpolicy %s): %w", p.Name, p.Name, err)
		}
		sel.policy = cp
		return sel, nil
	}
	return selected{policy: ps.fallback, name: DefaultPolicyName}, nil
}

func selects(p *v1alpha1.AirlockPolicy, ns *corev1.Namespace) bool {
	if p.Spec.NamespaceSelector == nil {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.NamespaceSelector)
	if err != nil {
		return true // an invalid policy claims every namespace, so its error is seen, not skipped
	}
	return sel.Matches(labels.Set(ns.Labels))
}

func (ps *policies) compile(ctx context.Context, p *v1alpha1.AirlockPolicy) (*classify.Policy, error) {
	ps.mu.Lock()
	c, ok := ps.compiled[p.UID]
	ps.mu.Unlock()
	// A policy that reads Secrets is compiled again now and then, as the status reconciler does,
	// so a rotated key takes effect without editing the policy.
	fresh := !policy.UsesSecrets(p) || time.Since(c.at) < policy.SecretRecheckInterval
	if ok && c.generation == p.Generation && fresh {
		return c.policy, c.err
	}
	cp, err := policy.Compile(ctx, p, ps.secrets)
	ps.mu.Lock()
	ps.compiled[p.UID] = compiledPolicy{generation: p.Generation, at: time.Now(), policy: cp, err: err}
	ps.mu.Unlock()
	return cp, err
}
