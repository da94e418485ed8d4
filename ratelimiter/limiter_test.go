package ratelimiter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
)

// testPolicies: team-a namespaces get 5 chat requests a minute and a token budget of 1,000 a
// minute that stops streams; other enforce namespaces get 2 requests a minute anywhere.
const testPolicies = `
apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata: {name: a-team-a}
spec:
  namespaceSelector: {matchLabels: {team: a}}
  rateLimits:
  - name: openai
    endpoints: [{host: api.openai.com, pathPrefix: /v1/chat/}, {host: "*.openai.azure.com"}]
    requests: {amount: 5, per: 1m}
    tokens: {amount: 1000, per: 1m}
    stopStreams: true
  - name: everything
    requests: {amount: 100, per: 1m}
---
apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata: {name: b-default}
spec:
  rateLimits:
  - name: default
    requests: {amount: 2, per: 1m}
    failureMode: closed
`

func mustRules(t testing.TB, yaml string) *Rules {
	t.Helper()
	ps, err := policy.Decode([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := CompileRules(ps)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// fakeNamespaces is a fixed set of namespace labels (unit tests of pure logic).
type fakeNamespaces map[string]labels.Set

func (f fakeNamespaces) Labels(_ context.Context, name string) (labels.Labels, bool, error) {
	l, ok := f[name]
	return l, ok, nil
}

func newTestLimiter(t testing.TB, now *time.Time) *Limiter {
	l := &Limiter{Now: func() time.Time { return *now }, Namespaces: fakeNamespaces{
		"team-a":   {"team": "a", v1alpha1.LabelMode: v1alpha1.ModeEnforce},
		"team-b":   {v1alpha1.LabelMode: v1alpha1.ModeEnforce},
		"watching": {v1alpha1.LabelMode: v1alpha1.ModeAudit},
		"audit-a":  {"team": "a", v1alpha1.LabelMode: v1alpha1.ModeAudit},
		"off":      {},
	}}
	l.SetRules(mustRules(t, testPolicies))
	return l
}

func TestLimiterSelectsPolicyAndEndpoint(t *testing.T) {
	now := time.Unix(0, 0)
	l := newTestLimiter(t, &now)
	ctx := context.Background()
	// count makes n calls; last is the last call's result, or the last admitted one's.
	count := func(ns, endpoint string, n int) (allowed int, last Result) {
		for range n {
			r, err := l.Check(ctx, Request{Namespace: ns, Endpoint: endpoint})
			if err != nil {
				t.Fatal(err)
			}
			if r.Allowed {
				allowed++
			}
			if r.Allowed || allowed == 0 || r.Shadow {
				last = r
			}
		}
		return allowed, last
	}
	if got, r := count("team-a", "api.openai.com/v1/chat/completions", 10); got != 5 || len(r.Applied) != 2 {
		t.Errorf("team-a chat: %d admitted (want 5) under %d limits (want openai and everything)", got, len(r.Applied))
	}
	// The denied calls gave back what "everything" took: 5 of its 100 are spent, not 10.
	if got, _ := count("team-a", "api.anthropic.com/v1/messages", 200); got != 95 {
		t.Errorf("team-a elsewhere: %d admitted, want 95 (denied chat calls must cost nothing)", got)
	}
	if got, _ := count("team-a", "east.openai.azure.com/openai/deployments/x", 1); got != 0 {
		t.Errorf("azure host matched the wildcard: want denied by everything's spent budget, got %d admitted", got)
	}
	if got, r := count("team-b", "api.openai.com/v1/chat/completions", 5); got != 2 || r.Applied[0].Policy != "b-default" {
		t.Errorf("team-b: %d admitted (want 2 from b-default), applied %+v", got, r.Applied)
	}
	if got, r := count("off", "api.openai.com/v1/chat/completions", 50); got != 50 || len(r.Applied) != 0 {
		t.Errorf("a namespace without airlock.dev/mode is not limited: %d admitted, applied %v", got, r.Applied)
	}
	if got, r := count("unknown", "x/", 3); got != 3 || len(r.Applied) != 0 {
		t.Errorf("unknown namespace: %d admitted, %v", got, r.Applied)
	}
	got, r := count("watching", "api.openai.com/v1/chat/completions", 5)
	if got != 5 || !r.Shadow {
		t.Errorf("audit namespace: %d admitted (want all 5), last shadow=%v (want true)", got, r.Shadow)
	}
	now = now.Add(time.Minute)
	if got, _ := count("team-b", "x/", 5); got != 2 {
		t.Errorf("after a minute the bucket refilled: %d admitted, want 2", got)
	}
}

func TestTokenBudget(t *testing.T) {
	now := time.Unix(0, 0)
	l := newTestLimiter(t, &now)
	ctx := context.Background()
	const ep = "api.openai.com/v1/chat/completions"
	r, err := l.Reserve(ctx, "team-a", ep, 1200)
	if err != nil || r.Allowed || r.RetryAfter >= 0 || r.Reservation != "" {
		t.Fatalf("a reservation above the budget's capacity is refused for good: %+v %v", r, err)
	}
	a, _ := l.Reserve(ctx, "team-a", ep, 700)
	if !a.Allowed || a.Applied[0].Remaining != 300 || a.Reservation == "" {
		t.Fatalf("reserve 700 of 1000: %+v", a)
	}
	if r, _ = l.Reserve(ctx, "team-a", ep, 400); r.Allowed || r.RetryAfter <= 0 || r.Reservation != "" {
		t.Fatalf("a reservation larger than what remains is refused until the refill: %+v", r)
	}
	// The call used 500: 200 come back.
	if r, _ = l.Settle(ctx, a.Reservation, 500, true); !r.Allowed || r.Applied[0].Remaining != 500 || r.Stop {
		t.Fatalf("settle 500 of 700 refunds 200: %+v", r)
	}
	// Settled for good: settling again refunds nothing; a made-up reservation neither.
	if _, err := l.Settle(ctx, a.Reservation, 0, true); !errors.Is(err, ErrUnknownReservation) {
		t.Fatalf("second settlement of a final reservation: %v, want ErrUnknownReservation", err)
	}
	if _, err := l.Settle(ctx, "0123456789abcdef0123456789abcdef", 0, false); !errors.Is(err, ErrUnknownReservation) {
		t.Fatalf("settling a reservation never made: %v, want ErrUnknownReservation", err)
	}
	// A stream reserves 100 and settles as it goes: 450 so far charges 350.
	b, _ := l.Reserve(ctx, "team-a", ep, 100)
	if !b.Allowed || b.Applied[0].Remaining != 400 {
		t.Fatal(b)
	}
	if r, _ = l.Settle(ctx, b.Reservation, 450, false); r.Applied[0].Remaining != 50 || r.Stop {
		t.Fatalf("settle an overrun charges it: %+v", r)
	}
	if r, _ = l.Settle(ctx, b.Reservation, 450, false); r.Applied[0].Remaining != 50 {
		t.Fatalf("settling the same usage again changes nothing: %+v", r)
	}
	if r, _ = l.Settle(ctx, b.Reservation, 700, true); r.Applied[0].Remaining != 0 || !r.Stop {
		t.Fatalf("the budget is spent and the limit says stop streams: %+v", r)
	}
	if _, err := l.Settle(ctx, b.Reservation, 3, true); !errors.Is(err, ErrUnknownReservation) {
		t.Error("a final settlement left the reservation open")
	}
	// A reservation expires.
	c, _ := l.Reserve(ctx, "team-b", "x/", 1) // team-b has no token limit: nothing taken
	if c.Reservation != "" {
		t.Errorf("a reservation where no limit applies: %+v", c)
	}
	now = now.Add(time.Minute)
	d, _ := l.Reserve(ctx, "team-a", ep, 10)
	now = now.Add(DefaultReservationTTL)
	if _, err := l.Settle(ctx, d.Reservation, 0, true); !errors.Is(err, ErrUnknownReservation) {
		t.Errorf("settling an expired reservation: %v", err)
	}
}

func TestCompileRulesRejectsInvalidPolicy(t *testing.T) {
	ps, err := policy.Decode([]byte(`
apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata: {name: broken}
spec:
  rateLimits:
  - name: Bad_Name
    endpoints: [{host: "api.openai.com/v1"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = CompileRules(ps)
	if err == nil {
		t.Fatal("an invalid policy compiled")
	}
	for _, want := range []string{"broken", "spec.rateLimits[0].name", "spec.rateLimits[0]: Required", "spec.rateLimits[0].endpoints[0].host"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

// TestRejectsCostsOutOfRange: costs that mean nothing, or so large that refill arithmetic and
// Redis TTLs would overflow, are a clear error, not a decision.
func TestRejectsCostsOutOfRange(t *testing.T) {
	now := time.Unix(0, 0)
	l := newTestLimiter(t, &now)
	ctx := context.Background()
	const ep = "api.openai.com/v1/chat/completions"
	for name, call := range map[string]func() (Result, error){
		"token check of 0": func() (Result, error) {
			return l.Check(ctx, Request{Namespace: "team-a", Endpoint: ep, Kind: KindTokens})
		},
		"check above MaxCost": func() (Result, error) {
			return l.Check(ctx, Request{Namespace: "team-a", Endpoint: ep, Cost: MaxCost + 1})
		},
		"reservation of 0":      func() (Result, error) { return l.Reserve(ctx, "team-a", ep, 0) },
		"reservation above max": func() (Result, error) { return l.Reserve(ctx, "team-a", ep, MaxCost+1) },
		"usage above MaxCost":   func() (Result, error) { return l.Settle(ctx, "x", MaxCost+1, false) },
		"no reservation":        func() (Result, error) { return l.Settle(ctx, "", 5, false) },
		"endpoint too long": func() (Result, error) {
			return l.Check(ctx, Request{Namespace: "team-a", Endpoint: strings.Repeat("a", MaxEndpointBytes+1)})
		},
		"negative usage": func() (Result, error) { return l.Settle(ctx, "x", -1, false) },
	} {
		if _, err := call(); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	// The largest allowed usage leaves a deep debt with a finite, positive wait.
	res, _ := l.Reserve(ctx, "team-a", ep, 10)
	if _, err := l.Settle(ctx, res.Reservation, MaxCost, true); err != nil {
		t.Fatal(err)
	}
	r, err := l.Reserve(ctx, "team-a", ep, 1)
	if err != nil || r.Allowed || r.RetryAfter <= 0 || r.Applied[0].Reset <= 0 {
		t.Errorf("after a huge overrun: %+v %v, want a denial with a positive retry and reset", r, err)
	}
}

// TestAuditNeverStopsStreams: in an audit namespace a spent budget is reported, not enforced.
func TestAuditNeverStopsStreams(t *testing.T) {
	now := time.Unix(0, 0)
	l := newTestLimiter(t, &now)
	ctx := context.Background()
	res, err := l.Reserve(ctx, "audit-a", "api.openai.com/v1/chat/completions", 10)
	if err != nil || res.Reservation == "" {
		t.Fatalf("reserve in audit: %+v %v", res, err)
	}
	r, err := l.Settle(ctx, res.Reservation, 1500, true)
	if err != nil || r.Stop || !r.Shadow || !r.Allowed {
		t.Errorf("audit namespace over its budget: %+v %v, want no stop, shadow", r, err)
	}
}

// flakyStore fails every call, after waiting for the caller's context when slow is set.
type flakyStore struct{ slow bool }

func (f flakyStore) Apply(ctx context.Context, _ string, _ Limit, _ int64, _ bool, _ time.Time) (Decision, error) {
	if f.slow {
		<-ctx.Done()
		return Decision{}, ctx.Err()
	}
	return Decision{}, errors.New("connection refused")
}

// TestCallerGivingUpDoesNotDegrade: a caller's own deadline is not a store outage; one impatient
// client must not switch every namespace to its failure mode.
func TestCallerGivingUpDoesNotDegrade(t *testing.T) {
	now := time.Unix(0, 0)
	l := newTestLimiter(t, &now)
	l.Store = flakyStore{slow: true}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r, err := l.Check(ctx, Request{Namespace: "team-b", Endpoint: "x/"}); err != nil || r.Allowed || r.Degraded {
		t.Errorf("cancelled caller: %+v %v, want a plain denial", r, err)
	}
	if l.Degraded() {
		t.Error("a cancelled caller marked the store down")
	}
}

// switchStore is a Memory that can be taken down (unit tests of pure logic).
type switchStore struct {
	m    *Memory
	down bool
}

func (s *switchStore) Apply(_ context.Context, key string, l Limit, cost int64, force bool, now time.Time) (Decision, error) {
	if s.down {
		return Decision{}, errors.New("connection refused")
	}
	return s.m.ApplyAt(key, l, cost, force, now), nil
}

// TestSettleDuringOutage: a settlement is never refused; the call already happened.
func TestSettleDuringOutage(t *testing.T) {
	now := time.Unix(0, 0)
	store := &switchStore{m: NewMemory()}
	l := &Limiter{Now: func() time.Time { return now }, Store: store,
		Namespaces: fakeNamespaces{"team-a": {"team": "a", v1alpha1.LabelMode: v1alpha1.ModeEnforce}}}
	l.SetRules(mustRules(t, `
apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata: {name: closed}
spec:
  rateLimits:
  - name: budget
    tokens: {amount: 1000, per: 1m}
    failureMode: closed
`))
	ctx := context.Background()
	res, err := l.Reserve(ctx, "team-a", "api.openai.com/", 10)
	if err != nil || !res.Allowed || res.Reservation == "" {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if !strings.HasPrefix(res.Reservation, localReservationPrefix) {
		t.Errorf("without a shared reservation store the id is local: %q", res.Reservation)
	}
	if _, err := l.Settle(ctx, localReservationPrefix+"0123", 1, true); !errors.Is(err, ErrUnknownReservation) {
		t.Errorf("a made-up local reservation: %v", err)
	}
	store.down = true
	if r, err := l.Reserve(ctx, "team-a", "api.openai.com/", 10); err != nil || r.Allowed || !r.Degraded || r.RetryAfter <= 0 {
		t.Errorf("reservation while the store is down, failing closed: %+v %v", r, err)
	}
	if r, err := l.Settle(ctx, res.Reservation, 20, true); err != nil || !r.Allowed || !r.Degraded {
		t.Errorf("settlement while the store is down: %+v %v, want accepted (degraded)", r, err)
	}
	if !l.Degraded() {
		t.Error("the outage is not reported")
	}
}

// TestMemoryReservationsForget: reservations never settled are dropped once expired, so they do
// not pile up in a process without Redis.
func TestMemoryReservationsForget(t *testing.T) {
	now := time.Unix(0, 0)
	m := &MemoryReservations{Now: func() time.Time { return now }}
	ctx := context.Background()
	for i := range 100 {
		_ = m.Put(ctx, fmt.Sprint(i), Reservation{Namespace: "a", Charged: 1}, time.Minute)
	}
	now = now.Add(2 * time.Minute)
	_ = m.Put(ctx, "fresh", Reservation{Namespace: "a", Charged: 1}, time.Minute)
	if len(m.m) != 1 {
		t.Errorf("%d reservations kept, want only the fresh one", len(m.m))
	}
	if _, err := m.Swap(ctx, "7", 0, true); !errors.Is(err, ErrUnknownReservation) {
		t.Errorf("expired reservation settled: %v", err)
	}
	if r, err := m.Swap(ctx, "fresh", 5, false); err != nil || r.Charged != 1 {
		t.Errorf("fresh reservation: %+v %v", r, err)
	}
}
