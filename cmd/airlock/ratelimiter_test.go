package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRatelimiterFromFile runs `airlock ratelimiter --policies` and checks a call is metered
// with the sample policy's limits, then that Ctrl-C (the context) stops it cleanly.
func TestRatelimiterFromFile(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRootCommand()
	cmd.SetArgs([]string{"ratelimiter", "--policies", "../../policies/llm-budgets.yaml", "--http-addr", addr, "--grpc-addr", freeAddr(t), "--metrics-bind-address", "0"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	var resp *http.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		resp, err = http.Post("http://"+addr+"/v1/check", "application/json",
			strings.NewReader(`{"namespace":"team-a","endpoint":"api.openai.com/v1/chat/completions"}`))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rate limiter did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit-Policy") != `"openai/requests";q=20;w=20` {
		t.Errorf("check: %d %v", resp.StatusCode, resp.Header)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stopping: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
