package ratelimiter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const sharedPolicies = `
apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata: {name: shared}
spec:
  rateLimits:
  - name: hourly
    endpoints: [{host: hourly.example}]
    requests: {amount: 100, per: 1h}
  - name: refill
    endpoints: [{host: refill.example}]
    requests: {amount: 20, per: 1s}
  - name: open
    endpoints: [{host: open.example}]
    requests: {amount: 99, per: 1h}
    failureMode: open
  - name: closed
    endpoints: [{host: closed.example}]
    requests: {amount: 99, per: 1h}
    failureMode: closed
`

// replicas starts n rate limiters sharing one Redis, each with its own client and HTTP server.
func replicas(t *testing.T, rs *redisServer, n int) ([]*Limiter, []*httptest.Server) {
	var ls []*Limiter
	var srvs []*httptest.Server
	for range n {
		l := &Limiter{Store: &Redis{Client: rs.client(t), Prefix: "test:"}, Replicas: n, ProbeInterval: 100 * time.Millisecond}
		l.SetRules(mustRules(t, sharedPolicies))
		srv := httptest.NewServer((&Server{Limiter: l}).Handler())
		t.Cleanup(srv.Close)
		ls, srvs = append(ls, l), append(srvs, srv)
	}
	return ls, srvs
}

// hammer sends calls from clients goroutines, each making perClient calls round-robin over the
// servers, and returns how many each server admitted (200) and the total denied (429).
func hammer(t *testing.T, srvs []*httptest.Server, endpoint string, clients, perClient int) (admitted []int64, denied int64) {
	t.Helper()
	admitted = make([]int64, len(srvs))
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				k := (c + i) % len(srvs)
				body, _ := json.Marshal(CheckRequest{Namespace: "tenant", Endpoint: endpoint})
				resp, err := http.Post(srvs[k].URL+"/v1/check", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					atomic.AddInt64(&admitted[k], 1)
				case http.StatusTooManyRequests:
					atomic.AddInt64(&denied, 1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	return admitted, denied
}

func sum(xs []int64) (n int64) {
	for _, x := range xs {
		n += x
	}
	return n
}

// TestRedisSharedBucketIsExact: three replicas and 64 concurrent clients on one namespace bucket
// of 100 admit exactly 100; after a refill interval they admit what the rate refilled.
func TestRedisSharedBucketIsExact(t *testing.T) {
	rs := startRedis(t)
	_, srvs := replicas(t, rs, 3)

	admitted, denied := hammer(t, srvs, "hourly.example/v1/x", 64, 10)
	if sum(admitted) != 100 || denied != 540 {
		t.Fatalf("64 clients x 10 calls on a bucket of 100 over 3 replicas: %d admitted (%v per replica), %d denied; want exactly 100 and 540", sum(admitted), admitted, denied)
	}
	t.Logf("admitted per replica %v, denied %d", admitted, denied)

	// 20 per second, from empty: after 500ms about 10 are back.
	hammer(t, srvs, "refill.example/", 64, 2) // empty the bucket
	end1 := time.Now()
	time.Sleep(500 * time.Millisecond)
	start2 := time.Now()
	admitted, _ = hammer(t, srvs, "refill.example/", 64, 2)
	end2 := time.Now()
	rate := 20.0 // per second
	lower := int64(rate*start2.Sub(end1).Seconds()) - 1
	upper := int64(rate*end2.Sub(end1).Seconds()) + 1
	if got := sum(admitted); got < lower || got > upper {
		t.Errorf("after %v at 20/s: %d admitted, want within one token of the refill: [%d, %d]", start2.Sub(end1), got, lower, upper)
	} else {
		t.Logf("refill: %d admitted after %v (bounds %d..%d)", got, start2.Sub(end1).Round(time.Millisecond), lower, upper)
	}
}

// TestRedisDownFailureModes: with Redis gone, a closed limit denies and an open one admits at
// most capacity/N on each replica; when Redis is back, counting is shared again.
func TestRedisDownFailureModes(t *testing.T) {
	rs := startRedis(t)
	ls, srvs := replicas(t, rs, 3)
	if a, _ := hammer(t, srvs, "open.example/", 3, 1); sum(a) != 3 {
		t.Fatalf("with Redis up: %v", a)
	}
	rs.Stop()

	admitted, denied := hammer(t, srvs, "closed.example/", 8, 6)
	if sum(admitted) != 0 || denied != 48 {
		t.Errorf("fail-closed limit with Redis down: %d admitted, %d denied; want all denied", sum(admitted), denied)
	}
	admitted, _ = hammer(t, srvs, "open.example/", 30, 10)
	for i, a := range admitted {
		if a != 33 {
			t.Errorf("fail-open replica %d admitted %d with Redis down; want capacity/N = 99/3 = 33", i, a)
		}
	}
	for i, l := range ls {
		if !l.Degraded() {
			t.Errorf("replica %d does not report degraded", i)
		}
	}
	resp, err := http.Get(srvs[0].URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("degraded")) {
		t.Errorf("readyz while degraded: %d %q; want 200 saying degraded", resp.StatusCode, body)
	}

	rs.Start() // empty: the restarted server kept nothing
	time.Sleep(150 * time.Millisecond)
	admitted, denied = hammer(t, srvs, "open.example/", 64, 3)
	if sum(admitted) != 99 {
		t.Errorf("Redis back: %d admitted (%v), %d denied; want the shared 99 again", sum(admitted), admitted, denied)
	}
	for i, l := range ls {
		if l.Degraded() {
			t.Errorf("replica %d still degraded after Redis came back", i)
		}
	}
}

// TestRedisTokenBudget runs reserve and settle against the shared store, reserving on one
// replica and settling on another.
func TestRedisTokenBudget(t *testing.T) {
	rs := startRedis(t)
	var ls [2]*Limiter
	for i := range ls {
		c := rs.client(t)
		ls[i] = &Limiter{Store: &Redis{Client: c, Prefix: "test:"}, Reservations: &RedisReservations{Client: c, Prefix: "test-res:"}}
		ls[i].SetRules(mustRules(t, testPolicies))
		ls[i].Namespaces = newTestLimiter(t, new(time.Time)).Namespaces
	}
	a, b := ls[0], ls[1]
	ctx := context.Background()
	const ep = "api.openai.com/v1/chat/completions"
	res, err := a.Reserve(ctx, "team-a", ep, 800)
	if err != nil || !res.Allowed || res.Applied[0].Remaining != 200 || res.Degraded || res.Reservation == "" {
		t.Fatalf("reserve 800: %+v %v", res, err)
	}
	if r, _ := b.Reserve(ctx, "team-a", ep, 300); r.Allowed {
		t.Fatalf("reserve 300 of 200 left: %+v", r)
	}
	if r, err := b.Settle(ctx, res.Reservation, 600, false); err != nil || r.Applied[0].Remaining != 400 {
		t.Fatalf("settle 600 of 800 on the other replica refunds 200: %+v %v", r, err)
	}
	if r, err := a.Settle(ctx, res.Reservation, 1050, true); err != nil || r.Applied[0].Remaining != 0 || !r.Stop {
		t.Fatalf("an overrun beyond the budget leaves a debt and stops streams: %+v %v", r, err)
	}
	if _, err := b.Settle(ctx, res.Reservation, 0, true); !errors.Is(err, ErrUnknownReservation) {
		t.Fatalf("a final reservation settled again: %v", err)
	}
	if r, _ := a.Reserve(ctx, "team-a", ep, 1); r.Allowed || r.RetryAfter < time.Second {
		t.Fatalf("in debt, the next reservation waits for the refill: %+v", r)
	}
}
