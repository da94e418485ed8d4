package ratelimiter

import (
	"context"
	"net"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// startRLS serves a Limiter's RateLimitService on loopback and returns Envoy's generated client.
func startRLS(t *testing.T, l *Limiter) rlsv3.RateLimitServiceClient {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{Limiter: l, GRPC: lis}).Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return rlsv3.NewRateLimitServiceClient(conn)
}

func descriptor(kv ...string) *commonrl.RateLimitDescriptor {
	d := &commonrl.RateLimitDescriptor{}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Entries = append(d.Entries, &commonrl.RateLimitDescriptor_Entry{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

func TestEnvoyRLS(t *testing.T) {
	now := time.Unix(1000, 0)
	c := startRLS(t, newTestLimiter(t, &now))
	ctx := context.Background()
	req := &rlsv3.RateLimitRequest{Domain: "airlock", Descriptors: []*commonrl.RateLimitDescriptor{
		descriptor("namespace", "team-b", "host", "api.openai.com", "path", "/v1/chat/completions")}}

	for i, want := range []rlsv3.RateLimitResponse_Code{rlsv3.RateLimitResponse_OK, rlsv3.RateLimitResponse_OK, rlsv3.RateLimitResponse_OVER_LIMIT} {
		resp, err := c.ShouldRateLimit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetOverallCode() != want || len(resp.GetStatuses()) != 1 || resp.GetStatuses()[0].GetCode() != want {
			t.Fatalf("call %d: %v, want %v", i, resp, want)
		}
		st := resp.GetStatuses()[0]
		if l := st.GetCurrentLimit(); l.GetRequestsPerUnit() != 2 || l.GetUnit() != rlsv3.RateLimitResponse_RateLimit_MINUTE || l.GetName() != "default/requests" {
			t.Errorf("call %d: current limit %v, want 2 per minute named default/requests", i, l)
		}
		if st.GetLimitRemaining() != uint32(1-min(i, 1)) {
			t.Errorf("call %d: remaining %d", i, st.GetLimitRemaining())
		}
		headers := map[string]string{}
		for _, h := range resp.GetResponseHeadersToAdd() {
			headers[h.GetKey()] = h.GetValue()
		}
		if headers["Ratelimit-Policy"] != `"default/requests";q=2;w=60` || headers["Ratelimit"] == "" {
			t.Errorf("call %d: headers %v", i, headers)
		}
		if _, ok := headers["Retry-After"]; ok != (want == rlsv3.RateLimitResponse_OVER_LIMIT) {
			t.Errorf("call %d: Retry-After present=%v, want it only when over the limit", i, ok)
		}
	}

	// Two descriptors: tokens by hits_addend on one, requests on another namespace.
	resp, err := c.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "airlock", Descriptors: []*commonrl.RateLimitDescriptor{
		{Entries: descriptor("namespace", "team-a", "endpoint", "api.openai.com/v1/chat/x", "kind", "tokens").Entries, HitsAddend: wrapperspb.UInt64(900)},
		descriptor("namespace", "team-a", "endpoint", "api.openai.com/v1/chat/x"),
	}})
	if err != nil || resp.GetOverallCode() != rlsv3.RateLimitResponse_OK || resp.GetStatuses()[0].GetLimitRemaining() != 100 {
		t.Fatalf("900 tokens of 1000: %v %v", resp, err)
	}
	resp, _ = c.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{HitsAddend: 200, Descriptors: []*commonrl.RateLimitDescriptor{
		descriptor("namespace", "team-a", "endpoint", "api.openai.com/v1/chat/x", "kind", "tokens")}})
	if resp.GetOverallCode() != rlsv3.RateLimitResponse_OVER_LIMIT {
		t.Fatalf("200 more tokens with 100 left: %v", resp)
	}

	for _, bad := range []*rlsv3.RateLimitRequest{
		{},
		{Descriptors: []*commonrl.RateLimitDescriptor{descriptor("host", "api.openai.com")}},
		{Descriptors: []*commonrl.RateLimitDescriptor{descriptor("namespace", "a", "kind", "bytes")}},
	} {
		if _, err := c.ShouldRateLimit(ctx, bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: got %v, want InvalidArgument", bad, err)
		}
	}
}
