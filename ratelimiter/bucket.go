package ratelimiter

import (
	"math"
	"time"
)

// Limit is the shape of a token bucket: it holds at most Capacity units and refills Amount units
// every Per, continuously. The zero Limit admits nothing.
type Limit struct {
	Capacity int64
	Amount   int64
	Per      time.Duration
}

// perNano is the refill rate in units per nanosecond.
func (l Limit) perNano() float64 { return float64(l.Amount) / float64(l.Per) }

// Divide returns the limit a replica keeps on its own when the shared store is down: capacity
// and rate divided by replicas, at least one unit each, so the replicas together stay near the
// shared limit and never go unlimited.
func (l Limit) Divide(replicas int) Limit {
	if replicas <= 1 {
		return l
	}
	return Limit{Capacity: max(1, l.Capacity/int64(replicas)), Amount: max(1, l.Amount/int64(replicas)), Per: l.Per}
}

// Decision is a bucket's answer to one request.
type Decision struct {
	// Allowed says whether the cost was taken.
	Allowed bool
	// Remaining is how many whole units are left after this decision (never negative).
	Remaining int64
	// RetryAfter, when not Allowed, is how long until the cost would be admitted; negative when
	// never (the cost exceeds the capacity).
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// bucket is a token bucket's state: tokens available at last (Unix nanoseconds). The zero
// bucket is new: it starts full.
type bucket struct {
	tokens float64
	last   int64
	// fullAt is when the bucket is full again (Unix nanoseconds): from then on it is the same
	// as no bucket, and Memory may drop it.
	fullAt int64
	used   bool
}

// apply refills the bucket up to now and takes cost: only when that many tokens are there, or
// always when force (settling usage that already happened, which may leave a debt). A negative
// cost refunds, never above capacity. Time going backwards (another goroutine's older clock
// reading) refills nothing.
func (b *bucket) apply(l Limit, now int64, cost int64, force bool) Decision {
	capacity := float64(l.Capacity)
	rate := l.perNano()
	switch {
	case !b.used:
		b.tokens, b.last, b.used = capacity, now, true
	case now > b.last:
		b.tokens = math.Min(capacity, b.tokens+float64(now-b.last)*rate)
		b.last = now
	}
	d := Decision{}
	if cost <= 0 || force || b.tokens >= float64(cost) {
		b.tokens = math.Min(capacity, b.tokens-float64(cost))
		d.Allowed = true
	} else if cost > l.Capacity {
		d.RetryAfter = -1
	} else {
		d.RetryAfter = wait(math.Ceil((float64(cost) - b.tokens) / rate))
	}
	d.Remaining = max(0, int64(math.Floor(b.tokens)))
	d.Reset = wait(math.Ceil((capacity - b.tokens) / rate))
	b.fullAt = b.last + int64(d.Reset)
	return d
}

// MaxWait bounds RetryAfter and Reset, so a huge debt (a stream that overran a slow budget many
// times over) still gives a duration that fits: after it the bucket counts as full again and is
// forgotten. bucket.lua has the same bound.
const MaxWait = 365 * 24 * time.Hour

// wait converts nanoseconds computed in floating point to a Duration no longer than MaxWait.
func wait(ns float64) time.Duration { return time.Duration(math.Min(ns, float64(MaxWait))) }
