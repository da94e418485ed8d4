package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactCommand(t *testing.T) {
	in := `{"prompt":"call me at (415) 555-2671, ssn 123-45-6789"}`
	run := func(o redactOptions) (string, int) {
		var out bytes.Buffer
		err := runRedact(strings.NewReader(in), &out, &o)
		var ee *exitError
		switch {
		case errors.As(err, &ee):
			return out.String(), ee.code
		case err != nil:
			t.Fatal(err)
		}
		return out.String(), 0
	}
	findings := filepath.Join(t.TempDir(), "f.jsonl")
	out, code := run(redactOptions{mode: "redact", output: "text", findings: findings})
	if code != 0 || out != `{"prompt":"call me at [REDACTED:phone], ssn [REDACTED:ssn]"}` {
		t.Errorf("redact: exit %d, %s", code, out)
	}
	b, _ := os.ReadFile(findings)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || strings.Contains(string(b), "6789") || !strings.Contains(lines[1], `"type":"ssn"`) {
		t.Errorf("findings file (values must never appear):\n%s", b)
	}
	if out, code := run(redactOptions{mode: "block", output: "text"}); code != exitBlocked || out != "" {
		t.Errorf("block: exit %d, output %q", code, out)
	}
	out, code = run(redactOptions{mode: "detect", output: "json"})
	var res struct {
		Findings []map[string]any `json:"findings"`
		Output   string           `json:"output"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || res.Output != in || len(res.Findings) != 2 {
		t.Errorf("detect -o json: exit %d, %v, %s", code, err, out)
	}
	var j bytes.Buffer
	if err := runRedact(strings.NewReader(`{"card": 4111111111111111}`), &j, &redactOptions{mode: "redact", output: "text"}); err != nil ||
		!json.Valid(j.Bytes()) || !strings.Contains(j.String(), `"[REDACTED:credit_card]"`) {
		t.Errorf("a JSON number was not replaced by a JSON string: %v %s", err, j.String())
	}
	var o bytes.Buffer
	if err := runRedact(strings.NewReader(""), &o, &redactOptions{mode: "shred", output: "text"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
