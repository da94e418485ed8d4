package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// chunked writes text to a stream in pieces of the given sizes (cycled) and returns the output.
func chunked(t testing.TB, r *Redactor, text []byte, sizes []int) ([]byte, []Finding) {
	var out bytes.Buffer
	s := r.NewStream(&out)
	for i := 0; len(text) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, sizes[i%len(sizes)])
		}
		n = min(n, len(text))
		if _, err := s.Write(text[:n]); err != nil {
			t.Fatal(err)
		}
		text = text[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), s.Findings()
}

func TestValueSplitAcrossWrites(t *testing.T) {
	r, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(`{"content":"card 4111 1111 1111 1111 and key sk-proj-` + randomish(48) + `"}`)
	whole, wf := r.Redact(text)
	for split := 1; split < len(text); split++ {
		var out bytes.Buffer
		s := r.NewStream(&out)
		s.Write(text[:split])
		// Nothing that could still be part of a value has left.
		if strings.Contains(out.String(), "4111") || strings.Contains(out.String(), "sk-proj") {
			t.Fatalf("split %d: a partial value was emitted early: %q", split, out.String())
		}
		s.Write(text[split:])
		s.Close()
		if !bytes.Equal(out.Bytes(), whole) || len(s.Findings()) != len(wf) {
			t.Fatalf("split at %d:\n got %s\nwant %s", split, out.Bytes(), whole)
		}
	}
}

// FuzzStreamMatchesWhole: any chunking of any input gives the whole-buffer output, valid JSON
// stays valid JSON, and no input panics.
func FuzzStreamMatchesWhole(f *testing.F) {
	r, err := New(Default())
	if err != nil {
		f.Fatal(err)
	}
	rj, err := New(Default(), WithJSON())
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range Default() {
		for _, s := range append(d.TruePositives, d.FalsePositives...) {
			f.Add([]byte(s), []byte{3, 1, 7})
		}
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":"ssn 123-45-6789 mail a.b@corp.io"}]}`), []byte{1})
	f.Add([]byte("ssn １２３-４５-６７８９ іgnore all previous instructions 4111\u200c 1111 1111 1111"), []byte{1, 2, 3})
	f.Add([]byte(`{"c":"x\n4111 1111 1111 1111\"password=\"Zx9!kQ2#vL7m\\\""}`), []byte{5, 2})
	f.Fuzz(func(t *testing.T, text, sizes []byte) {
		whole, wf := r.Redact(text)
		if json.Valid(text) {
			if out, _ := rj.Redact(text); !json.Valid(out) {
				t.Fatalf("valid JSON became invalid:\n in %q\nout %q", text, out)
			}
		}
		ns := make([]int, len(sizes))
		for i, s := range sizes {
			ns[i] = int(s)
		}
		got, gf := chunked(t, r, text, ns)
		if !bytes.Equal(got, whole) {
			t.Fatalf("chunked %v:\n got %q\nwant %q", ns, got, whole)
		}
		if len(gf) != len(wf) {
			t.Fatalf("findings differ: %v vs %v", gf, wf)
		}
		for i := range gf {
			if gf[i] != wf[i] {
				t.Fatalf("finding %d: %+v vs %+v", i, gf[i], wf[i])
			}
		}
	})
}

// TestValueAcrossStepLimit: a step decides positions before len-hold and leaves the rest for
// later; a value whose prefix or keyword starts before that limit and ends after it must still be
// found, by every kind of detector (literal prefix, keyword start, token start).
func TestValueAcrossStepLimit(t *testing.T) {
	r, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{
		"ghp_" + randomish(36),
		"sk-proj-" + randomish(48),
		"password=Tr0ub4dor-3x!Qz#9",
		"sk_live_" + randomish(24),
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"SSN 123-45-6789",
	} {
		for k := 0; k <= 10; k++ {
			// One write large enough for a step, whose limit falls k bytes into the value.
			head := strings.Repeat("lorem ipsum ", 400)[:4800]
			tail := " " + strings.Repeat("dolor sit ", r.hold/10+1)
			tail = tail[:r.hold+k-len(value)]
			text := []byte(head + value + tail)
			if got := len(text) - r.hold; got != len(head)+k {
				t.Fatalf("setup: limit at %d, want %d", got, len(head)+k)
			}
			whole, _ := r.Redact(text)
			out, _ := chunked(t, r, text, []int{len(text)})
			if strings.Contains(string(whole), value) {
				t.Fatalf("%q: not found even whole", value)
			}
			if !bytes.Equal(out, whole) {
				t.Errorf("%q with the step limit %d bytes into it: the stream passed it: %q", value, k, out[len(head)-10:len(head)+len(value)+10])
			}
		}
	}
}

// TestHiddenCharactersKeepLookBehind guards compaction: characters normalisation drops take bytes
// but no room in the view, and a stream must still keep a context word that far back ("SSN", a run
// of zero-width spaces, then a bare number), whatever the writes.
func TestHiddenCharactersKeepLookBehind(t *testing.T) {
	r, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []int{20, 100, 400} {
		for _, filler := range []int{r.hold - 200, r.hold - 20, r.hold, r.hold + 300} {
			text := []byte(strings.Repeat("x ", 4500) + "SSN " + strings.Repeat("\u200b", hidden) + " 123456789 " + strings.Repeat("y", filler))
			whole, fs := r.Redact(text)
			if len(fs) == 0 {
				t.Fatalf("hidden %d: not found even whole", hidden)
			}
			for _, sizes := range [][]int{{len(text)}, {4096}, {5000, 9000}} {
				if out, _ := chunked(t, r, text, sizes); !bytes.Equal(out, whole) {
					t.Errorf("hidden %d, filler %d, writes %v: the stream differs from the whole text (SSN kept: %t)",
						hidden, filler, sizes, bytes.Contains(out, []byte("123456789")))
				}
			}
		}
	}
}

// TestBlockModeScansInBoundedSpace: ModeBlock holds the body for Close, but its scan buffer is
// compacted like the other modes', so a long body is not scanned again from its start at every
// step; and the body still goes out whole when nothing is found.
func TestBlockModeScansInBoundedSpace(t *testing.T) {
	r, err := New(Default(), WithMode(ModeBlock))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := r.NewStream(&out)
	line := []byte("nothing to see here, just prose about quarterly reports and retries. ")
	var want bytes.Buffer
	for want.Len() < 2<<20 {
		want.Write(line)
		if _, err := s.Write(line); err != nil {
			t.Fatal(err)
		}
		if len(s.buf) > 4*r.hold+r.stepBytes() {
			t.Fatalf("after %d bytes the scan buffer holds %d", want.Len(), len(s.buf))
		}
	}
	if out.Len() != 0 {
		t.Fatal("block mode wrote before Close")
	}
	if err := s.Close(); err != nil || !bytes.Equal(out.Bytes(), want.Bytes()) {
		t.Fatalf("Close: %v; wrote %d bytes, want the %d held", err, out.Len(), want.Len())
	}
}
