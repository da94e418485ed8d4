package ratelimiter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// MaxRequestBytes caps an HTTP API request body: a reservation may carry a prompt to estimate.
const MaxRequestBytes = 4 << 20

// CheckRequest is the body of POST /v1/check.
type CheckRequest struct {
	Namespace string `json:"namespace"`
	// Endpoint is the called host and path, "api.openai.com/v1/chat/completions".
	Endpoint string `json:"endpoint"`
	// Kind is "requests" (the default) or "tokens".
	Kind string `json:"kind,omitempty"`
	// Cost defaults to 1 request.
	Cost int64 `json:"cost,omitempty"`
}

// ReserveRequest is the body of POST /v1/reserve: Tokens, or an estimate from Prompt plus
// MaxTokens (the completion the call may produce).
type ReserveRequest struct {
	Namespace string `json:"namespace"`
	Endpoint  string `json:"endpoint"`
	Tokens    int64  `json:"tokens,omitempty"`
	Prompt    string `json:"prompt,omitempty"`
	MaxTokens int64  `json:"maxTokens,omitempty"`
}

// SettleRequest is the body of POST /v1/settle: the reservation /v1/reserve returned, and the
// usage the provider reported (so far, for a stream; Final once it is over).
type SettleRequest struct {
	Reservation string `json:"reservation"`
	Used        int64  `json:"used"`
	Final       bool   `json:"final,omitempty"`
}

// Response is every endpoint's answer. Durations are in seconds.
type Response struct {
	Allowed bool `json:"allowed"`
	// Remaining is what the tightest applied limit has left; absent when no limit applied.
	Remaining *int64 `json:"remaining,omitempty"`
	// Reset is the seconds until every applied bucket is full again.
	Reset float64 `json:"reset"`
	// RetryAfter, when denied, is the seconds until the call would be admitted; -1 means never
	// (it costs more than the bucket holds).
	RetryAfter float64 `json:"retryAfter,omitempty"`
	// Reserved is the tokens a reservation took, and Reservation what to settle them with.
	Reserved    int64  `json:"reserved,omitempty"`
	Reservation string `json:"reservation,omitempty"`
	// Stop, from settle, says the token budget is spent and the limit asks to stop streams.
	Stop     bool          `json:"stop,omitempty"`
	Degraded bool          `json:"degraded,omitempty"`
	Shadow   bool          `json:"shadow,omitempty"`
	Limits   []LimitReport `json:"limits,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// LimitReport is one applied limit in a Response.
type LimitReport struct {
	Policy    string  `json:"policy"`
	Name      string  `json:"name"`
	Kind      Kind    `json:"kind"`
	Capacity  int64   `json:"capacity"`
	Remaining int64   `json:"remaining"`
	Reset     float64 `json:"reset"`
}

// Handler serves the HTTP JSON API: POST /v1/check, /v1/reserve and /v1/settle. A denied call
// is answered 429 with the decision, an admitted one 200; both carry the RateLimit headers.
func Handler(l *Limiter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/check", func(w http.ResponseWriter, r *http.Request) {
		var req CheckRequest
		if !decode(w, r, &req) {
			return
		}
		kind, err := ParseKind(req.Kind)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		res, err := l.Check(r.Context(), Request{Namespace: req.Namespace, Endpoint: req.Endpoint, Kind: kind, Cost: req.Cost})
		respond(w, res, err, 0)
	})
	mux.HandleFunc("POST /v1/reserve", func(w http.ResponseWriter, r *http.Request) {
		var req ReserveRequest
		if !decode(w, r, &req) {
			return
		}
		if req.MaxTokens < 0 || req.MaxTokens > MaxCost {
			writeError(w, http.StatusBadRequest, fmt.Errorf("%w: maxTokens %d must be between 0 and %d", ErrInvalidRequest, req.MaxTokens, int64(MaxCost)))
			return
		}
		tokens := req.Tokens
		if tokens == 0 {
			tokens = EstimateTokens([]byte(req.Prompt)) + req.MaxTokens
		}
		res, err := l.Reserve(r.Context(), req.Namespace, req.Endpoint, tokens)
		respond(w, res, err, tokens)
	})
	mux.HandleFunc("POST /v1/settle", func(w http.ResponseWriter, r *http.Request) {
		var req SettleRequest
		if !decode(w, r, &req) {
			return
		}
		res, err := l.Settle(r.Context(), req.Reservation, req.Used, req.Final)
		respond(w, res, err, 0)
	})
	return mux
}

// decode reads a JSON body strictly: unknown fields are a typo the caller should hear about.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value in the body")
	}
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		} else if errors.Is(err, io.EOF) {
			err = errors.New("empty body: send a JSON object")
		}
		writeError(w, status, fmt.Errorf("reading the request: %w", err))
		return false
	}
	return true
}

func respond(w http.ResponseWriter, res Result, err error, reserved int64) {
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrInvalidRequest):
			status = http.StatusBadRequest
		case errors.Is(err, ErrUnknownReservation):
			status = http.StatusNotFound
		}
		writeError(w, status, err)
		return
	}
	out := Response{Allowed: res.Allowed, Stop: res.Stop, Degraded: res.Degraded, Shadow: res.Shadow}
	if res.Allowed {
		// Only what a bucket really took may be settled later: nothing where no limit applied,
		// nothing when an audit namespace's call would have been denied (it was given back).
		if res.Reservation != "" {
			out.Reserved, out.Reservation = reserved, res.Reservation
		}
	} else {
		out.RetryAfter = secondsMs(res.RetryAfter)
		if res.RetryAfter < 0 {
			out.RetryAfter = -1
		}
	}
	for _, a := range res.Applied {
		if out.Remaining == nil || a.Remaining < *out.Remaining {
			out.Remaining = &a.Remaining
		}
		out.Reset = max(out.Reset, secondsMs(a.Reset))
		out.Limits = append(out.Limits, LimitReport{Policy: a.Policy, Name: a.Name, Kind: a.Kind,
			Capacity: a.Limit.Capacity, Remaining: a.Remaining, Reset: secondsMs(a.Reset)})
	}
	SetHeaders(w.Header(), res)
	status := http.StatusOK
	if !res.Allowed {
		status = http.StatusTooManyRequests
	}
	writeJSON(w, status, out)
}

// secondsMs is d in seconds, to the millisecond.
func secondsMs(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, Response{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
