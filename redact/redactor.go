package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Mode says what a Redactor does with what it finds.
type Mode int

// Modes.
const (
	// ModeRedact replaces each finding with its placeholder.
	ModeRedact Mode = iota
	// ModeBlock reports findings; the caller emits nothing when there are any.
	ModeBlock
	// ModeDetect passes the text through unchanged and reports findings.
	ModeDetect
)

// ParseMode reads "redact", "block" or "detect".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "redact":
		return ModeRedact, nil
	case "block":
		return ModeBlock, nil
	case "detect":
		return ModeDetect, nil
	}
	return 0, fmt.Errorf("redact: unknown mode %q: use redact, block or detect", s)
}

// Redactor holds compiled detectors. It is immutable and safe for concurrent use.
type Redactor struct {
	detectors []*Detector
	mode      Mode
	// Placeholder returns what replaces a finding; nil means "[REDACTED:TYPE]".
	placeholder func(Finding) []byte
	// json makes replacements keep a JSON document valid.
	json bool
	// hold is how many trailing bytes a stream keeps undecided: the longest candidate plus the
	// validators' context.
	hold int
	// streams pools the Streams Redact uses.
	streams sync.Pool
	// order ranks detectors by position, the last tie-break between overlapping findings.
	order map[string]int
	// tokens drives the WordStart detectors in one pass; anchors finds the others' literals.
	tokens  tokenGroup
	anchors anchorIndex
}

// Option configures a Redactor.
type Option func(*Redactor)

// WithMode sets the mode (default ModeRedact).
func WithMode(m Mode) Option { return func(r *Redactor) { r.mode = m } }

// WithPlaceholder sets what replaces a finding in ModeRedact.
func WithPlaceholder(f func(Finding) []byte) Option { return func(r *Redactor) { r.placeholder = f } }

// WithJSON makes the redactor keep JSON valid: a value outside a string (a number) is replaced
// by the placeholder as a JSON string. Inside strings the placeholder is valid as it is.
func WithJSON() Option { return func(r *Redactor) { r.json = true } }

// New compiles detectors into a Redactor, rejecting misconfigured ones.
func New(detectors []*Detector, opts ...Option) (*Redactor, error) {
	r := &Redactor{detectors: detectors, order: map[string]int{}}
	var errs []error
	for i, d := range detectors {
		r.order[d.ID] = i
		if err := d.check(); err != nil {
			errs = append(errs, err)
		} else if err := d.compile(); err != nil {
			errs = append(errs, err)
		}
		// Plus an escape's length: one cut at the end of the buffer (\u20) reads as five
		// characters until its last byte arrives.
		r.hold = max(r.hold, d.MaxLen+Context+6)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	if r.tokens, err = newTokenGroup(detectors); err != nil {
		return nil, err
	}
	r.anchors = newAnchorIndex(detectors)
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

var errTooManyWordStart = errors.New("redact: more than 64 WordStart detectors: mark the rest without WordStart")

// stepBytes is how much new text a Stream gathers before it scans: half the hold-back, at least
// 4 KiB, so no byte is scanned more than about three times however small the writes.
func (r *Redactor) stepBytes() int { return max(4<<10, r.hold/2) }

// Mode returns the redactor's mode.
func (r *Redactor) Mode() Mode { return r.mode }

func (r *Redactor) placeholderFor(f Finding) []byte {
	if r.placeholder != nil {
		p := r.placeholder(f)
		if r.json {
			// A mask may hold quotes or backslashes: escape it, so it is valid inside a string.
			q, _ := json.Marshal(string(p))
			p = q[1 : len(q)-1]
		}
		return p
	}
	return []byte("[REDACTED:" + f.Type + "]")
}

// Redact processes a whole buffer: the findings, and the output for the mode (the redacted text,
// the text unchanged in ModeDetect, nil in ModeBlock when anything was found).
func (r *Redactor) Redact(text []byte) ([]byte, []Finding) {
	var out bytes.Buffer
	out.Grow(len(text) + len(text)/8)
	// A stream's scratch space (views, tokens, anchors) is reused across calls: with hundreds
	// of detectors, allocating it anew cost more than scanning a short body.
	s, _ := r.streams.Get().(*Stream)
	if s == nil {
		s = r.NewStream(&out)
	} else {
		s.reset(&out)
	}
	defer r.streams.Put(s)
	// The whole text is known: one final step decides it all, where Write would first scan up
	// to the hold-back and Close scan again.
	s.buf = append(s.buf, text...)
	_ = s.Close() // writes to a bytes.Buffer cannot fail
	findings := s.findings
	s.findings = nil // the caller keeps them
	if r.mode == ModeBlock && len(findings) > 0 {
		return nil, findings
	}
	return out.Bytes(), findings
}

// resolve keeps, of overlapping findings, the one that starts first (then the longer, then the
// riskier, then the earlier detector), so the choice depends only on the findings themselves.
func resolve(fs []Finding, order map[string]int) []Finding {
	slices.SortFunc(fs, func(a, b Finding) int {
		switch {
		case a.Start != b.Start:
			return a.Start - b.Start
		case a.End != b.End:
			return b.End - a.End
		case a.Risk != b.Risk:
			return int(b.Risk) - int(a.Risk)
		}
		return order[a.Rule] - order[b.Rule]
	})
	out := fs[:0]
	end := -1
	for _, f := range fs {
		if f.Start >= end {
			out = append(out, f)
			end = f.End
		}
	}
	return out
}
