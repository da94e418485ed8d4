package ratelimiter

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// TestBucketSteps replays a bucket of 10 tokens refilling 10 per second at fixed instants.
func TestBucketSteps(t *testing.T) {
	l := Limit{Capacity: 10, Amount: 10, Per: time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		name      string
		at        time.Duration
		cost      int64
		force     bool
		allowed   bool
		remaining int64
		retry     time.Duration
	}{
		{"a new bucket starts full", 0, 4, false, true, 6, 0},
		{"take the rest", 0, 6, false, true, 0, 0},
		{"empty: denied, retry when one token is back", 0, 1, false, false, 0, 100 * time.Millisecond},
		{"denied costs nothing", 50 * time.Millisecond, 1, false, false, 0, 50 * time.Millisecond},
		{"refilled one token after 100ms", 100 * time.Millisecond, 1, false, true, 0, 0},
		{"more than the bucket holds: never", 100 * time.Millisecond, 11, false, false, 0, -1},
		{"force leaves a debt", 100 * time.Millisecond, 5, true, true, 0, 0},
		{"the debt is repaid first", 600 * time.Millisecond, 1, false, false, 0, 100 * time.Millisecond},
		{"refund gives back", 600 * time.Millisecond, -3, true, true, 3, 0},
		{"clock going backwards refills nothing", 500 * time.Millisecond, 3, false, true, 0, 0},
		{"refill stops at capacity", 10 * time.Second, 0, false, true, 10, 0},
	}
	var b bucket
	for _, s := range steps {
		d := b.apply(l, t0.Add(s.at).UnixNano(), s.cost, s.force)
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.RetryAfter != s.retry {
			t.Errorf("%s: got allowed=%v remaining=%d retry=%v, want %v %d %v", s.name, d.Allowed, d.Remaining, d.RetryAfter, s.allowed, s.remaining, s.retry)
		}
	}
}

func TestDivide(t *testing.T) {
	l := Limit{Capacity: 100, Amount: 60, Per: time.Minute}
	if got := l.Divide(3); got != (Limit{Capacity: 33, Amount: 20, Per: time.Minute}) {
		t.Errorf("Divide(3) = %+v", got)
	}
	if got := (Limit{Capacity: 2, Amount: 1, Per: time.Hour}).Divide(5); got.Capacity != 1 || got.Amount != 1 {
		t.Errorf("a replica keeps at least one unit, got %+v", got)
	}
}

func TestEstimateTokens(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"", 0}, {"abcd", 1}, {"abcde", 2}, {"忽略之前", 4}, {"hi 世界", 3}} {
		if got := EstimateTokens([]byte(c.in)); got != c.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestSplitEndpoint(t *testing.T) {
	for _, c := range []struct{ in, host, path string }{
		{"api.openai.com/v1/chat/completions", "api.openai.com", "/v1/chat/completions"},
		{"https://API.Anthropic.com:443/v1/messages", "api.anthropic.com", "/v1/messages"},
		{"api.cohere.com", "api.cohere.com", "/"},
		{"[::1]:8080/x", "::1", "/x"},
		{"[::1]/x", "::1", "/x"},
		{"api.openai.com/v1/%63hat/completions", "api.openai.com", "/v1/chat/completions"},
		{"api.openai.com//v1/./chat/../chat/completions?x=/v2/", "api.openai.com", "/v1/chat/completions"},
		{"api.openai.com/v1/chat/", "api.openai.com", "/v1/chat/"},
		{"api.openai.com/v1/%zz", "api.openai.com", "/v1/%zz"},
	} {
		if h, p := SplitEndpoint(c.in); h != c.host || p != c.path {
			t.Errorf("SplitEndpoint(%q) = %q %q, want %q %q", c.in, h, p, c.host, c.path)
		}
	}
	if !hostMatches("*.openai.azure.com", "east.openai.azure.com") || hostMatches("*.openai.azure.com", "openai.azure.com") ||
		hostMatches("*.openai.azure.com", "evilopenai.azure.com") {
		t.Error("wildcard hosts match subdomains only")
	}
}

func TestIsLabel(t *testing.T) {
	for s, want := range map[string]bool{"team-a": true, "a": true, "0x": true, "": false, "-a": false, "a-": false,
		"Team": false, "a_b": false, "a.b": false, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false} {
		if got := isLabel(s); got != want || got != (len(validation.IsDNS1123Label(s)) == 0) {
			t.Errorf("isLabel(%q) = %v, want %v (and as validation.IsDNS1123Label)", s, got, want)
		}
	}
}
