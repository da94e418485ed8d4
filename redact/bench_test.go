package redact_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"

	"github.com/airlock-dev/airlock/redact"
)

// llmBody builds a JSON chat-completion request of about size bytes: prose and code in the
// messages, with a few planted values (an SSN, an e-mail, a card, an AWS key) spread through it.
func llmBody(size int) []byte {
	filler := []string{
		"Please summarise the attached quarterly report and list the three main risks. ",
		"func handler(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, \"ok %d\", 42) }\\n",
		"The deployment uses image ghcr.io/acme/api@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855. ",
		"Commit 3f786850e387550fdab836ed7e6dc881de23001b fixed the retry loop in version 1.26.8. ",
		"Our customers in Berlin and Lyon asked for invoices by 2026-11-03T10:15:30Z. ",
	}
	planted := []string{
		"The customer's SSN is 123-45-6789. ", "Reach me at jane.doe@acme-corp.io. ",
		"Card on file 4111 1111 1111 1111. ", "aws_access_key_id = AKIAZ7Q3B5KD2MXW4RTE ",
	}
	var content strings.Builder
	for i := 0; content.Len() < size-120; i++ {
		if i%40 == 7 {
			content.WriteString(planted[(i/40)%len(planted)])
		}
		content.WriteString(filler[i%len(filler)])
	}
	return []byte(fmt.Sprintf(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"%s"}]}`, content.String()))
}

// BenchmarkRedact compares Airlock's redactor with gitleaks' detector (its default 200+ rules)
// on the same bodies in the same run. Throughput is b.SetBytes: compare MB/s.
func BenchmarkRedact(b *testing.B) {
	r, err := redact.New(redact.Default(), redact.WithJSON())
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 10, 4 << 10, 64 << 10, 1 << 20} {
		body := llmBody(size)
		name := fmt.Sprintf("%dKB", size>>10)
		b.Run(name+"/airlock", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r.Redact(body)
			}
		})
		b.Run(name+"/gitleaks", func(b *testing.B) {
			gl, err := detect.NewDetectorDefaultConfig()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				gl.DetectBytes(body)
			}
		})
	}
}

// TestPlantedValuesAreFound keeps the benchmark honest: the bodies hold values, and all are found.
func TestPlantedValuesAreFound(t *testing.T) {
	r, err := redact.New(redact.Default(), redact.WithJSON())
	if err != nil {
		t.Fatal(err)
	}
	body := llmBody(64 << 10)
	out, fs := r.Redact(body)
	types := map[string]int{}
	for _, f := range fs {
		types[f.Type]++
	}
	for _, want := range []string{"ssn", "email", "credit_card", "aws_access_key_id"} {
		if types[want] == 0 {
			t.Errorf("no %s found in the benchmark body (found %v)", want, types)
		}
	}
	if strings.Contains(string(out), "123-45-6789") || strings.Contains(string(out), "AKIAZ7Q3B5KD2MXW4RTE") {
		t.Error("a planted value survived")
	}
	if len(fs) != types["ssn"]+types["email"]+types["credit_card"]+types["aws_access_key_id"] {
		t.Errorf("unexpected findings in the filler: %v", types)
	}
}

// BenchmarkStream feeds a 64 KB body in writes of 100 bytes (tokens of an LLM stream), 1 KB and
// 16 KB, through a Stream: the cost of holding back and rescanning across writes.
func BenchmarkStream(b *testing.B) {
	r, err := redact.New(redact.Default(), redact.WithJSON())
	if err != nil {
		b.Fatal(err)
	}
	body := llmBody(64 << 10)
	for _, chunk := range []int{100, 1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("writes-of-%dB", chunk), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				s := r.NewStream(io.Discard)
				for i := 0; i < len(body); i += chunk {
					if _, err := s.Write(body[i:min(len(body), i+chunk)]); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
