package ratelimiter

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A reservation is what a Reserve took, remembered under a random id so that a settlement refunds
// or charges exactly the difference, once, in the reservation's own namespace and endpoint: a
// caller cannot settle what it never reserved, nor refund a reservation twice.

// Reservation is what one reservation has charged so far.
type Reservation struct {
	Namespace, Endpoint string
	// Charged is the tokens taken so far: the reservation, then the usage last settled.
	Charged int64
}

// ErrUnknownReservation is a settlement of a reservation that was never made, already settled
// for good, or expired.
var ErrUnknownReservation = errors.New("unknown or expired reservation: settle only what /v1/reserve returned, before it expires")

// DefaultReservationTTL is how long a reservation can be settled: longer than an LLM call or
// stream should take, short enough that reservations never settled do not pile up.
const DefaultReservationTTL = 15 * time.Minute

// Reservations keeps reservations. Swap records used as the new charge and returns the
// reservation as it was; final forgets it.
type Reservations interface {
	Put(ctx context.Context, id string, r Reservation, ttl time.Duration) error
	Swap(ctx context.Context, id string, used int64, final bool) (Reservation, error)
}

func newReservationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// MemoryReservations keeps reservations in this process.
type MemoryReservations struct {
	mu        sync.Mutex
	m         map[string]memoryReservation
	lastSweep time.Time
	// Now returns the time; nil means time.Now.
	Now func() time.Time
}

type memoryReservation struct {
	Reservation
	expires time.Time
}

func (m *MemoryReservations) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Put implements Reservations.
func (m *MemoryReservations) Put(_ context.Context, id string, r Reservation, ttl time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]memoryReservation{}
	}
	if now.Sub(m.lastSweep) >= time.Minute {
		m.lastSweep = now
		for k, v := range m.m { // expired ones are dropped once a minute, not on a timer
			if !now.Before(v.expires) {
				delete(m.m, k)
			}
		}
	}
	m.m[id] = memoryReservation{r, now.Add(ttl)}
	return nil
}

// Swap implements Reservations.
func (m *MemoryReservations) Swap(_ context.Context, id string, used int64, final bool) (Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[id]
	if !ok || !m.now().Before(v.expires) {
		delete(m.m, id)
		return Reservation{}, ErrUnknownReservation
	}
	if final {
		delete(m.m, id)
	} else {
		n := v
		n.Charged = used
		m.m[id] = n
	}
	return v.Reservation, nil
}

//go:embed reservation_put.lua
var reservationPutScript string

//go:embed reservation_swap.lua
var reservationSwapScript string

var (
	reservationPutLua  = redis.NewScript(reservationPutScript)
	reservationSwapLua = redis.NewScript(reservationSwapScript)
)

// RedisReservations keeps reservations in Redis, so any replica can settle what another reserved.
type RedisReservations struct {
	Client redis.Scripter
	Prefix string
}

// Put implements Reservations.
func (r *RedisReservations) Put(ctx context.Context, id string, res Reservation, ttl time.Duration) error {
	if err := reservationPutLua.Run(ctx, r.Client, []string{r.Prefix + id},
		res.Namespace, res.Endpoint, res.Charged, max(1, ttl.Milliseconds())).Err(); err != nil {
		return fmt.Errorf("ratelimiter: redis: recording a reservation: %w", err)
	}
	return nil
}

// Swap implements Reservations.
func (r *RedisReservations) Swap(ctx context.Context, id string, used int64, final bool) (Reservation, error) {
	f := "0"
	if final {
		f = "1"
	}
	vals, err := reservationSwapLua.Run(ctx, r.Client, []string{r.Prefix + id}, used, f).StringSlice()
	if errors.Is(err, redis.Nil) {
		return Reservation{}, ErrUnknownReservation
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("ratelimiter: redis: settling a reservation: %w", err)
	}
	if len(vals) != 3 {
		return Reservation{}, fmt.Errorf("ratelimiter: redis: reservation script returned %d values, want 3", len(vals))
	}
	charged, err := strconv.ParseInt(vals[2], 10, 64)
	if err != nil {
		return Reservation{}, fmt.Errorf("ratelimiter: redis: reservation charge %q: %w", vals[2], err)
	}
	return Reservation{Namespace: vals[0], Endpoint: vals[1], Charged: charged}, nil
}
