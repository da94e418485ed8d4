package classify

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxCacheEntries bounds memory: beyond it, expired entries are swept, and if none are expired the
// oldest half of the map goes (map order is random, which is good enough for a cache).
const maxCacheEntries = 10000

// cache is a TTL cache whose misses are coalesced: concurrent Gets of one missing key run fetch
// once and share its result. Results and non-outage errors are cached (negative caching: "not
// found" is an answer too); outages are not, so the next admission asks again.
type cache[V any] struct {
	now    func() time.Time
	mu     sync.Mutex
	items  map[string]entry[V]
	flight singleflight.Group
}

type entry[V any] struct {
	val     V
	err     error
	expires time.Time
}

func newCache[V any](now func() time.Time) *cache[V] {
	return &cache[V]{now: now, items: map[string]entry[V]{}}
}

// get returns the cached value for key, or runs fetch once for all concurrent callers and caches
// its outcome for ttl. hit reports whether the value came from the cache.
//
// fetch runs detached from any one caller's context (each caller's cancellation only stops its
// own wait), so one impatient admission request cannot fail the others waiting on the same image;
// fetch must bound its own duration.
func (c *cache[V]) get(ctx context.Context, key string, ttl time.Duration, fetch func() (V, error)) (v V, hit bool, err error) {
	c.mu.Lock()
	e, ok := c.items[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.val, true, e.err
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		v, err := fetch()
		if ttl > 0 && cacheable(err) {
			c.put(key, entry[V]{val: v, err: err, expires: c.now().Add(ttl)})
		}
		return v, err
	})
	select {
	case <-ctx.Done():
		return v, false, ctx.Err()
	case res := <-ch:
		v, _ = res.Val.(V)
		return v, false, res.Err
	}
}

// cacheable reports whether an outcome is an answer about the image (cache it) rather than a
// failure to ask (do not).
func cacheable(err error) bool {
	return err == nil || !(errors.Is(err, ErrRegistryUnavailable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

func (c *cache[V]) put(key string, e entry[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= maxCacheEntries {
		now := c.now()
		for k, old := range c.items {
			if !now.Before(old.expires) {
				delete(c.items, k)
			}
		}
		for k := range c.items {
			if len(c.items) < maxCacheEntries/2 {
				break
			}
			delete(c.items, k)
		}
	}
	c.items[key] = e
}
