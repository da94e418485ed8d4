package ratelimiter

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is a Store of buckets in this process. It is safe for concurrent use; buckets are
// spread over shards so that concurrent keys rarely share a lock.
type Memory struct {
	seed   maphash.Seed
	shards [64]memoryShard
}

type memoryShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

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
		b = &bucket{}
		s.buckets[key] = b
	}
	d := b.apply(l, now.UnixNano(), cost, force)
	s.mu.Unlock()
	return d
}
