package ratelimiter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Ready reports whether the Limiter can decide: its rules are loaded. A degraded store does not
// make it unready (every replica would drop out at once); Readiness says so in its message.
func (l *Limiter) Ready() error {
	if l.rules.Load() == nil {
		return errors.New("rate limits not loaded yet")
	}
	return nil
}

// Server serves a Limiter over the HTTP JSON API (with /healthz and /readyz) and Envoy's
// RateLimitService over gRPC.
type Server struct {
	Limiter *Limiter
	// HTTP and GRPC are the listeners; a nil one is not served.
	HTTP, GRPC net.Listener
	// TLS, when set, serves both over TLS.
	TLS *tls.Config
}

// Handler is the HTTP API plus health endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", Handler(s.Limiter))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Limiter.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if s.Limiter.Degraded() {
			_, _ = w.Write([]byte("ok: degraded: the shared store is unreachable; each limit's failure mode decides\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Start serves until ctx is done, then shuts down gracefully (it implements manager.Runnable).
func (s *Server) Start(ctx context.Context) error {
	errc := make(chan error, 2)
	var hs *http.Server
	if s.HTTP != nil {
		// A decision is a small body: a client that trickles one in must not hold a handler.
		hs = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: s.TLS}
		go func() {
			var err error
			if s.TLS != nil {
				err = hs.ServeTLS(s.HTTP, "", "")
			} else {
				err = hs.Serve(s.HTTP)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("ratelimiter: http: %w", err)
			}
		}()
	}
	var gs *grpc.Server
	if s.GRPC != nil {
		var opts []grpc.ServerOption
		if s.TLS != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(s.TLS)))
		}
		gs = grpc.NewServer(opts...)
		rlsv3.RegisterRateLimitServiceServer(gs, &RLS{Limiter: s.Limiter})
		go func() {
			if err := gs.Serve(s.GRPC); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("ratelimiter: grpc: %w", err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if hs != nil {
		_ = hs.Shutdown(shutdown)
	}
	if gs != nil {
		gs.GracefulStop()
	}
	return err
}

// NeedLeaderElection: every replica serves.
func (s *Server) NeedLeaderElection() bool { return false }
