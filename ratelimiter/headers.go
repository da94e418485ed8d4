package ratelimiter

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SetHeaders writes a result as the IETF RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers): RateLimit-Policy names each applied limit with its
// quota (q) and window in seconds (w); RateLimit gives what remains (r) and the seconds until the
// bucket is full again (t). A denied call also gets Retry-After, in whole seconds. Nothing is
// written for a call no limit matched.
func SetHeaders(h http.Header, r Result) {
	if len(r.Applied) == 0 {
		return
	}
	var policy, state []string
	for _, a := range r.Applied {
		name := strconv.Quote(a.Name + "/" + string(a.Kind))
		policy = append(policy, name+";q="+strconv.FormatInt(a.Limit.Capacity, 10)+";w="+strconv.FormatInt(seconds(window(a.Limit)), 10))
		state = append(state, name+";r="+strconv.FormatInt(a.Remaining, 10)+";t="+strconv.FormatInt(seconds(a.Reset), 10))
	}
	h.Set("RateLimit-Policy", strings.Join(policy, ", "))
	h.Set("RateLimit", strings.Join(state, ", "))
	if !r.Allowed && r.RetryAfter >= 0 {
		h.Set("Retry-After", strconv.FormatInt(max(1, seconds(r.RetryAfter)), 10))
	}
}

// window is how long an empty bucket takes to fill: the period the quota is spread over.
func window(l Limit) time.Duration {
	return time.Duration(float64(l.Per) * float64(l.Capacity) / float64(l.Amount))
}

// seconds rounds up to whole seconds.
func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }
