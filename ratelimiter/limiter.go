package ratelimiter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// Defaults of a Limiter's optional fields.
const (
	// DefaultStoreTimeout bounds one shared-store decision: a slow Redis costs callers at most
	// this, never seconds.
	DefaultStoreTimeout = 100 * time.Millisecond
	// DefaultProbeInterval is how long the Limiter stays on its fallback after a store error
	// before trying the store again.
	DefaultProbeInterval = time.Second
)

// ErrInvalidRequest wraps every error about a malformed request (as opposed to a store failure).
var ErrInvalidRequest = errors.New("invalid request")

// Namespaces tells the Limiter a namespace's labels, which AirlockPolicies select on.
type Namespaces interface {
	// Labels returns the namespace's labels; ok false when there is no such namespace.
	Labels(ctx context.Context, name string) (labels.Labels, bool, error)
}

// AllNamespaces treats every namespace as existing, in enforce mode, with only the
// kubernetes.io/metadata.name label the API server sets: for limits read from a file, without a
// cluster. A policy selecting on that label, or on nothing, applies.
type AllNamespaces struct{}

// Labels implements Namespaces.
func (AllNamespaces) Labels(_ context.Context, name string) (labels.Labels, bool, error) {
	return nameOnly(name), true, nil
}

// nameOnly is the label set of AllNamespaces, without building a map on every call.
type nameOnly string

func (n nameOnly) Has(label string) bool {
	return label == "kubernetes.io/metadata.name" || label == v1alpha1.LabelMode
}

func (n nameOnly) Lookup(label string) (string, bool) { return n.Get(label), n.Has(label) }

func (n nameOnly) Get(label string) string {
	switch label {
	case "kubernetes.io/metadata.name":
		return string(n)
	case v1alpha1.LabelMode:
		return v1alpha1.ModeEnforce
	}
	return ""
}

// Limiter decides calls against the rate limits of the AirlockPolicy that applies to the
// caller's namespace. Set the fields, then SetRules; it is safe for concurrent use.
type Limiter struct {
	// Store holds the shared buckets (Redis). Nil: Local holds them, with the full limits.
	Store Store
	// Local holds the fallback buckets used while Store is down (capacity/Replicas each), and
	// all buckets when Store is nil. Nil: a new Memory, made on first use.
	Local *Memory
	// Replicas is how many rate limiter replicas share Store: a replica's fallback bucket holds
	// 1/Replicas of the limit. 0 means 1.
	Replicas int
	// Namespaces gives namespace labels. Nil means AllNamespaces.
	Namespaces Namespaces
	// StoreTimeout bounds each Store decision; 0 means DefaultStoreTimeout.
	StoreTimeout time.Duration
	// ProbeInterval is how long to stay on the fallback after a Store error; 0 means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// Now returns the time; nil means time.Now. Tests set a fake clock.
	Now func() time.Time
	// Metrics, when set, counts decisions and store failures.
	Metrics *Metrics
	// Log receives store failures (never request contents).
	Log logr.Logger
	// Reservations keeps token reservations where every replica can settle them (Redis). Nil,
	// or while it fails: this process keeps them.
	Reservations Reservations
	// ReservationTTL is how long a reservation can be settled; 0 means DefaultReservationTTL.
	ReservationTTL time.Duration

	localOnce sync.Once
	resOnce   sync.Once
	localRes  MemoryReservations
	rules     atomic.Pointer[Rules]
	downUntil atomic.Int64 // Unix nanoseconds until which Store is not tried
	degraded  atomic.Bool
}

// SetRules swaps in new rules; calls in flight finish with the old ones.
func (l *Limiter) SetRules(r *Rules) { l.rules.Store(r) }

// Degraded reports whether the last attempt to reach the shared store failed: decisions are then
// made by the failure modes (local buckets or denial).
func (l *Limiter) Degraded() bool { return l.degraded.Load() }

// Request is one call to meter.
type Request struct {
	// Namespace is the caller's namespace.
	Namespace string
	// Endpoint is the called host and path: "api.openai.com/v1/chat/completions" (a URL works).
	Endpoint string
	// Kind is what Cost counts.
	Kind Kind
	// Cost is how many requests or tokens the call takes; 0 means 1 request, and for tokens
	// only reports the budget.
	Cost int64
}

// Applied is the decision of one rate limit that matched a call.
type Applied struct {
	Policy, Name string
	Kind         Kind
	Limit        Limit
	Decision
}

// Result is the decision about a call.
type Result struct {
	// Allowed says whether the call may go ahead (always true in an audit namespace).
	Allowed bool
	// Applied lists the limits that matched, in policy order; empty when none did (the call
	// is not limited).
	Applied []Applied
	// RetryAfter, when not Allowed, is how long until the call would be admitted; negative when
	// never (it costs more than a bucket holds).
	RetryAfter time.Duration
	// Degraded says the shared store was unreachable and a failure mode decided.
	Degraded bool
	// Shadow says the namespace is in audit mode and the call would have been denied.
	Shadow bool
	// Stop, from Settle, says a token budget is spent and its limit asks to stop streams.
	Stop bool
	// Reservation, from Reserve, names what a bucket took, to pass to Settle; empty when
	// nothing was taken (denied, no limit applied, or an audit namespace's call given back).
	Reservation string
}

// Check takes the call's cost from every limit that matches it. If one denies, what the others
// took is given back, so a denied call costs nothing.
func (l *Limiter) Check(ctx context.Context, req Request) (Result, error) {
	if req.Kind == "" {
		req.Kind = KindRequests
	}
	if req.Cost == 0 && req.Kind == KindRequests {
		req.Cost = 1
	}
	switch {
	case req.Cost < 0:
		return Result{}, fmt.Errorf("%w: cost %d is negative: refunds go through settle", ErrInvalidRequest, req.Cost)
	case req.Cost == 0:
		return Result{}, fmt.Errorf("%w: a token check needs a positive cost (the call's tokens)", ErrInvalidRequest)
	case req.Cost > MaxCost:
		return Result{}, fmt.Errorf("%w: cost %d is above the most one call can take (%d)", ErrInvalidRequest, req.Cost, int64(MaxCost))
	}
	return l.decide(ctx, req, false)
}

// MaxEndpointBytes bounds an endpoint (host and path), which a reservation keeps.
const MaxEndpointBytes = 4096

// MaxCost bounds what one call may take, reserve or report as used: 2^40 (about 10^12) tokens,
// far above any model's context, low enough that refill arithmetic and Redis TTLs cannot
// overflow whatever the budget.
const MaxCost = 1 << 40

// Reserve takes an estimate of a call's LLM tokens before the call (see EstimateTokens). Settle
// its Reservation with the reported usage afterwards.
func (l *Limiter) Reserve(ctx context.Context, namespace, endpoint string, tokens int64) (Result, error) {
	if tokens <= 0 || tokens > MaxCost {
		return Result{}, fmt.Errorf("%w: a reservation of %d tokens: give between 1 and %d, or a prompt or maxTokens to estimate from", ErrInvalidRequest, tokens, int64(MaxCost))
	}
	res, err := l.decide(ctx, Request{Namespace: namespace, Endpoint: endpoint, Kind: KindTokens, Cost: tokens}, false)
	if err != nil || !res.Allowed || res.Shadow || len(res.Applied) == 0 {
		return res, err
	}
	r := Reservation{Namespace: namespace, Endpoint: endpoint, Charged: tokens}
	ttl := l.ReservationTTL
	if ttl <= 0 {
		ttl = DefaultReservationTTL
	}
	id := newReservationID()
	if l.Reservations == nil || l.now().UnixNano() < l.downUntil.Load() || l.Reservations.Put(ctx, id, r, ttl) != nil {
		// Without the shared store only this replica can settle it. Its id says so, so a
		// settlement goes to exactly one store, even if the shared one did record it.
		id = localReservationPrefix + newReservationID()
		_ = l.localReservations().Put(ctx, id, r, ttl)
	}
	res.Reservation = id
	return res, nil
}

// localReservationPrefix marks the ids of reservations kept in this process.
const localReservationPrefix = "l-"

// Settle corrects a reservation with the usage the provider reported: it refunds what was
// reserved and not used, or charges the overrun, which may leave the budget in debt (the next
// calls wait for the refill). A stream may settle as it goes with its usage so far, then with
// final set; Stop says when to cut it. Settling the same usage again changes nothing, and a
// reservation that was never made, is settled for good, or has expired is ErrUnknownReservation.
func (l *Limiter) Settle(ctx context.Context, reservation string, used int64, final bool) (Result, error) {
	if used < 0 || used > MaxCost {
		return Result{}, fmt.Errorf("%w: used %d must be between 0 and %d", ErrInvalidRequest, used, int64(MaxCost))
	}
	if reservation == "" {
		return Result{}, fmt.Errorf("%w: reservation is required: settle what /v1/reserve returned", ErrInvalidRequest)
	}
	// The call has happened: a caller that stops waiting must not leave the charge recorded
	// but the buckets untouched.
	ctx = context.WithoutCancel(ctx)
	store := Reservations(l.localReservations())
	if !strings.HasPrefix(reservation, localReservationPrefix) {
		if l.Reservations == nil {
			return Result{}, ErrUnknownReservation
		}
		store = l.Reservations
	}
	r, err := store.Swap(ctx, reservation, used, final)
	if err != nil {
		return Result{}, err
	}
	return l.decide(ctx, Request{Namespace: r.Namespace, Endpoint: r.Endpoint, Kind: KindTokens, Cost: used - r.Charged}, true)
}

func (l *Limiter) decide(ctx context.Context, req Request, force bool) (Result, error) {
	if req.Namespace == "" {
		return Result{}, fmt.Errorf("%w: namespace is required", ErrInvalidRequest)
	}
	if len(req.Endpoint) > MaxEndpointBytes {
		return Result{}, fmt.Errorf("%w: endpoint of %d bytes: send host and path, at most %d bytes", ErrInvalidRequest, len(req.Endpoint), MaxEndpointBytes)
	}
	if !isLabel(req.Namespace) {
		errs := validation.IsDNS1123Label(req.Namespace)
		return Result{}, fmt.Errorf("%w: namespace %q: %s", ErrInvalidRequest, req.Namespace, strings.Join(errs, "; "))
	}
	if req.Kind != KindRequests && req.Kind != KindTokens {
		return Result{}, fmt.Errorf("%w: unknown kind %q: use requests or tokens", ErrInvalidRequest, req.Kind)
	}
	nss := l.Namespaces
	if nss == nil {
		nss = AllNamespaces{}
	}
	nsLabels, ok, err := nss.Labels(ctx, req.Namespace)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimiter: reading namespace %s: %w", req.Namespace, err)
	}
	mode := ""
	if ok {
		mode = nsLabels.Get(v1alpha1.LabelMode)
	}
	res := Result{Allowed: true}
	if !ok || (mode != v1alpha1.ModeEnforce && mode != v1alpha1.ModeAudit) {
		return res, nil // Airlock does nothing in namespaces without its label
	}
	host, path := SplitEndpoint(req.Endpoint)
	var buf [4]*rule
	rules := l.rules.Load().match(nsLabels, host, path, req.Kind, buf[:0])
	now := l.now()
	for i, r := range rules {
		lim := r.limits[req.Kind]
		key := req.Namespace + r.keys[req.Kind]
		d, degraded := l.apply(ctx, r, key, lim, req.Cost, force, now)
		res.Degraded = res.Degraded || degraded
		res.Applied = append(res.Applied, Applied{Policy: r.policy, Name: r.name, Kind: req.Kind, Limit: lim, Decision: d})
		if force && r.stopStreams && d.Remaining == 0 {
			res.Stop = true
		}
		if !d.Allowed && !force {
			res.Allowed, res.RetryAfter = false, d.RetryAfter
			// What the earlier limits took is given back: a denied call costs nothing.
			for _, prev := range rules[:i] {
				l.apply(ctx, prev, req.Namespace+prev.keys[req.Kind], prev.limits[req.Kind], -req.Cost, true, now)
			}
			break
		}
	}
	if mode == v1alpha1.ModeAudit && (!res.Allowed || res.Stop) {
		// Audit namespaces are metered, never stopped: say what enforce would have done.
		res.Allowed, res.Stop, res.Shadow = true, false, true
	}
	l.Metrics.observe(req.Kind, res)
	return res, nil
}

// apply decides one bucket: on the shared store while it answers, else by the limit's failure
// mode (a local bucket of capacity/Replicas, or a denial). degraded reports the latter.
func (l *Limiter) apply(ctx context.Context, r *rule, key string, lim Limit, cost int64, force bool, now time.Time) (Decision, bool) {
	if l.Store == nil {
		return l.local().ApplyAt(key, lim, cost, force, now), false
	}
	if now.UnixNano() >= l.downUntil.Load() {
		timeout := l.StoreTimeout
		if timeout <= 0 {
			timeout = DefaultStoreTimeout
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		d, err := l.Store.Apply(sctx, key, lim, cost, force, now)
		cancel()
		if err == nil {
			// A success that started before another call's failure says nothing about now.
			if l.downUntil.Load() <= l.now().UnixNano() && l.degraded.Swap(false) {
				l.Log.Info("shared rate-limit store is back; counting is shared again")
				l.Metrics.setDegraded(false)
			}
			return d, false
		}
		if ctx.Err() != nil {
			// The caller gave up (a client timeout, Envoy's 20 ms deadline): that says nothing
			// about the store, so it is not marked down for everyone else.
			return Decision{RetryAfter: time.Millisecond}, false
		}
		probe := l.ProbeInterval
		if probe <= 0 {
			probe = DefaultProbeInterval
		}
		l.downUntil.Store(now.Add(probe).UnixNano())
		if !l.degraded.Swap(true) {
			l.Log.Error(err, "shared rate-limit store unreachable; applying each limit's failure mode", "retryIn", probe)
		}
		l.Metrics.storeFailed()
	}
	if !r.failOpen {
		// Until the next probe; at least a millisecond, as another call may have set downUntil
		// from an earlier clock reading.
		return Decision{RetryAfter: max(time.Millisecond, time.Duration(l.downUntil.Load()-now.UnixNano()))}, true
	}
	return l.local().ApplyAt("fallback/"+key, lim.Divide(l.Replicas), cost, force, now), true
}

// localReservations keeps the reservations this process makes without a shared store, on the
// Limiter's clock.
func (l *Limiter) localReservations() *MemoryReservations {
	l.resOnce.Do(func() { l.localRes.Now = l.now })
	return &l.localRes
}

func (l *Limiter) local() *Memory {
	l.localOnce.Do(func() {
		if l.Local == nil {
			l.Local = NewMemory()
		}
	})
	return l.Local
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// isLabel is validation.IsDNS1123Label's test without its regular expression, which would cost
// more than the decision.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}
