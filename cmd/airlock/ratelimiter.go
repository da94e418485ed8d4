package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/ratelimiter"
)

type ratelimiterOptions struct {
	httpAddr, grpcAddr, metricsAddr string
	redisAddr, redisPasswordFile    string
	replicas                        int
	policies                        string
	tlsCert, tlsKey                 string
}

func newRatelimiterCommand() *cobra.Command {
	o := &ratelimiterOptions{}
	zapOpts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "ratelimiter",
		Short: "Serve per-namespace rate limits and LLM token budgets (HTTP JSON and Envoy RLS gRPC)",
		Long: `Serve the rate limits of AirlockPolicies' spec.rateLimits:

  POST /v1/check    {namespace, endpoint, kind: requests|tokens, cost}
  POST /v1/reserve  {namespace, endpoint, tokens | prompt + maxTokens}   before an LLM call: a reservation id
  POST /v1/settle   {reservation, used, final}                            after it (or as a stream goes)

on --http-addr (with /healthz and /readyz), and Envoy's RateLimitService v3 on --grpc-addr.
Answers carry RateLimit, RateLimit-Policy and, when denied, Retry-After headers.

With --redis-addr every replica shares one set of buckets (set --replicas to their number: when
Redis is unreachable, limits that fail open fall back to local buckets of capacity/replicas).
Limits come from the cluster's AirlockPolicies (watched), or from --policies FILE without a cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
			return runRatelimiter(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.httpAddr, "http-addr", ":8090", "address of the HTTP JSON API and health endpoints")
	f.StringVar(&o.grpcAddr, "grpc-addr", ":8091", "address of Envoy's RateLimitService (gRPC); empty disables it")
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	f.StringVar(&o.redisAddr, "redis-addr", "", "Redis host:port shared by the replicas; empty keeps buckets in this process")
	f.StringVar(&o.redisPasswordFile, "redis-password-file", "", "file holding the Redis password")
	f.IntVar(&o.replicas, "replicas", 1, "how many replicas share Redis: each keeps capacity/replicas while Redis is down")
	f.StringVar(&o.policies, "policies", "", "read AirlockPolicies from this YAML file instead of the cluster")
	f.StringVar(&o.tlsCert, "tls-cert-file", "", "serve HTTP and gRPC over TLS with this certificate (with --tls-key-file)")
	f.StringVar(&o.tlsKey, "tls-key-file", "", "the certificate's private key")
	bindGoFlags(cmd, zapOpts.BindFlags)
	return cmd
}

func runRatelimiter(cmd *cobra.Command, o *ratelimiterOptions) error {
	log := ctrl.Log.WithName("ratelimiter")
	if o.replicas < 1 {
		return fmt.Errorf("--replicas %d: must be at least 1", o.replicas)
	}
	l := &ratelimiter.Limiter{Replicas: o.replicas, Log: log}
	if o.redisAddr != "" {
		ropts := &redis.Options{Addr: o.redisAddr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 100 * time.Millisecond,
			WriteTimeout: 100 * time.Millisecond, MaxRetries: -1, DialerRetries: 1}
		if o.redisPasswordFile != "" {
			pw, err := readSecretFile(o.redisPasswordFile)
			if err != nil {
				return err
			}
			ropts.Password = pw
		}
		ratelimiter.SetRedisLogger(log.WithName("redis"))
		rc := redis.NewClient(ropts)
		l.Store = &ratelimiter.Redis{Client: rc, Prefix: "airlock:rl:"}
		// Reservations too, so any replica settles what another reserved.
		l.Reservations = &ratelimiter.RedisReservations{Client: rc, Prefix: "airlock:res:"}
	}
	var tlsConfig *tls.Config
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("set both --tls-cert-file and --tls-key-file, or neither")
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv := &ratelimiter.Server{Limiter: l, TLS: tlsConfig}
	var err error
	if srv.HTTP, err = net.Listen("tcp", o.httpAddr); err != nil {
		return fmt.Errorf("--http-addr: %w", err)
	}
	if o.grpcAddr != "" {
		if srv.GRPC, err = net.Listen("tcp", o.grpcAddr); err != nil {
			return fmt.Errorf("--grpc-addr: %w", err)
		}
	}

	if o.policies != "" {
		return serveFromFile(cmd, o, l, srv, log)
	}
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("no cluster to talk to: set KUBECONFIG, run in a pod, or pass --policies FILE: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: o.metricsAddr}})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	l.Metrics = ratelimiter.NewMetrics(crmetrics.Registry)
	l.Namespaces = ratelimiter.CachedNamespaces{Reader: mgr.GetCache()}
	if err := (&ratelimiter.PolicyWatcher{Limiter: l}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.Add(srv); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting airlock ratelimiter", "http", o.httpAddr, "grpc", o.grpcAddr, "redis", o.redisAddr != "", "replicas", o.replicas)
	return mgr.Start(cmd.Context())
}

// serveFromFile serves limits read once from a file, every namespace treated as selected by
// name (see ratelimiter.AllNamespaces).
func serveFromFile(cmd *cobra.Command, o *ratelimiterOptions, l *ratelimiter.Limiter, srv *ratelimiter.Server, log logr.Logger) error {
	ps, err := policy.LoadFile(o.policies)
	if err != nil {
		return err
	}
	rules, err := ratelimiter.CompileRules(ps)
	if err != nil {
		return fmt.Errorf("%s: %w", o.policies, err)
	}
	l.SetRules(rules)
	reg := prometheus.NewRegistry()
	l.Metrics = ratelimiter.NewMetrics(reg)
	if o.metricsAddr != "0" && o.metricsAddr != "" {
		ms := &http.Server{Addr: o.metricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := ms.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(err, "metrics server stopped")
			}
		}()
		defer ms.Close()
	}
	log.Info("starting airlock ratelimiter", "policies", o.policies, "http", o.httpAddr, "grpc", o.grpcAddr, "redis", o.redisAddr != "")
	return srv.Start(cmd.Context())
}

// readSecretFile reads a password file, without its trailing newline.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
