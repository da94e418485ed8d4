package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlock-dev/airlock/test/controlplane"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs `make demo`'s program with the real airlock binary, checks the verdicts it prints,
// then cancels it as Ctrl-C does and checks that it stops cleanly.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "airlock")
	build := exec.Command("go", "build", "-o", bin, "./cmd/airlock")
	build.Dir = controlplane.Root()
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building airlock: %v\n%s", err, b)
	}
	buf := &syncBuffer{}
	out = buf
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, bin, dir, false) }()

	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(buf.String(), "Press Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("demo ended before it was ready: %v\n%s", err, buf.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready after 2 minutes:\n%s", buf.String())
		}
	}
	report := buf.String()
	for _, want := range []string{
		"demo-enforce/deployment web (signed, trusted registry)\n  ALLOWED",
		"demo-enforce/pod tool (unsigned, untrusted registry)\n  DENIED",
		"demo-enforce/pod payments (signed by an unknown key)\n  DENIED",
		"signature invalid",
		"demo-enforce/pod llm (vLLM server + ModelPack model volume)\n  QUARANTINED",
		"warning: airlock audit: AirlockPolicy demo would deny this Pod",
		"demo-off/pod tool (unsigned, untrusted registry)\n  ALLOWED",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	cancel() // what Ctrl-C does, through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo stopped with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo did not stop within a minute of Ctrl-C")
	}
	if !strings.Contains(buf.String(), "stopping the control plane") {
		t.Error("the control plane was not stopped")
	}
	if t.Failed() {
		t.Log(buf.String())
	}
}
