package ratelimiter

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is a Store of buckets in this process. It is safe for concurrent use; buckets are
// spread over shards so that concurrent keys rarely share a lock. Buckets that have refilled
// completely are dropped as new ones arrive, so memory follows the keys in use, not every key
// ever seen.
type Memory struct {
	seed   maphash.Seed
	shards [64]memoryShard
}

type memoryShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	// sweepAt is the size at which full buckets are next dropped.
	sweepAt int
}

// minSweep is the shard size below which no sweep runs.
const minSweep = 1024

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].buckets = map[string]*bucket{}
	}
	return m
}

// Apply implements Store; it never fails.
func (m *Memory) Apply(_ context.Context, key string, l Limit, cost int64, force bool, now time.Time) (Decision, error) {
	return m.ApplyAt(key, l, cost, force, now), nil
}

// ApplyAt is Apply without a context or an error, for callers that know the store is local.
func (m *Memory) ApplyAt(key string, l Limit, cost int64, force bool, now time.Time) Decision {
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	s.mu.Lock()
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= max(s.sweepAt, minSweep) {
			s.sweep(now.UnixNano())
		}
		b = &bucket{}
		s.buckets[key] = b
	}
	d := b.apply(l, now.UnixNano(), cost, force)
	s.mu.Unlock()
	return d
}

// sweep drops the buckets that are full at now (a full bucket and no bucket decide alike), and
// sets the next sweep at twice the size left, so sweeping costs O(1) per new bucket.
func (s *memoryShard) sweep(now int64) {
	for k, b := range s.buckets {
		if b.fullAt <= now {
			delete(s.buckets, k)
		}
	}
	s.sweepAt = 2 * len(s.buckets)
}

// Len is how many buckets Memory holds.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].buckets)
		m.shards[i].mu.Unlock()
	}
	return n
}
