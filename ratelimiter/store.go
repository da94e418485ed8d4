package ratelimiter

import (
	"context"
	"time"
)

// Store keeps buckets by key. Apply refills the bucket and takes cost in one atomic step (see
// bucket.apply for force and negative costs). An error means the store could not decide; the
// Limiter then applies the limit's failure mode.
type Store interface {
	Apply(ctx context.Context, key string, l Limit, cost int64, force bool, now time.Time) (Decision, error)
}
