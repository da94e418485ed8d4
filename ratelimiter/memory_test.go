package ratelimiter

import (
	"strconv"
	"testing"
	"time"
)

// TestMemoryDropsRefilledBuckets: a caller inventing new keys (namespaces) does not grow memory
// without bound: buckets that have refilled are dropped, and dropping one changes no decision.
func TestMemoryDropsRefilledBuckets(t *testing.T) {
	m := NewMemory()
	l := Limit{Capacity: 5, Amount: 5, Per: time.Second}
	t0 := time.Unix(1000, 0)
	if d := m.ApplyAt("kept", l, 5, false, t0); !d.Allowed {
		t.Fatal(d)
	}
	for i := range 200_000 {
		m.ApplyAt("k"+strconv.Itoa(i), l, 1, false, t0.Add(time.Duration(i)*time.Millisecond))
	}
	// The keys of the last second are not full yet; everything older was dropped.
	if n := m.Len(); n > 64*minSweep+2000 {
		t.Errorf("%d buckets held after 200,000 keys over 200 s; refilled ones should be dropped", n)
	}
	// "kept" was full long ago: dropped or not, it starts full.
	if d := m.ApplyAt("kept", l, 5, false, t0.Add(300*time.Second)); !d.Allowed || d.Remaining != 0 {
		t.Errorf("a dropped full bucket must decide as a full one: %+v", d)
	}
	// A bucket still refilling is never dropped.
	m.ApplyAt("busy", l, 5, false, t0.Add(300*time.Second))
	for i := range 100_000 {
		m.ApplyAt("x"+strconv.Itoa(i), l, 1, false, t0.Add(300*time.Second))
	}
	if d := m.ApplyAt("busy", l, 1, false, t0.Add(300*time.Second)); d.Allowed {
		t.Errorf("an empty bucket was forgotten: %+v", d)
	}
}
