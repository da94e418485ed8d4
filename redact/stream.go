package redact

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// Stream redacts text written to it in any number of pieces and writes the result to an
// io.Writer. It holds back the last bytes that could still belong to a value, so a value split
// across writes is still caught, and no byte leaves while it might be part of one. Its output is
// byte-for-byte what Redact gives for the whole text. Close flushes what is held.
//
// In ModeBlock nothing is written until Close, and nothing at all if anything was found.
type Stream struct {
	r   *Redactor
	w   io.Writer
	buf []byte
	// base is the absolute offset of buf[0]; done is the absolute offset decided (and, but in
	// ModeBlock, written) so far.
	base, done int
	// pos is each detector's next scan position (absolute).
	pos []int
	// pending are decided findings not yet passed; findings are all passed ones, for reporting.
	pending, findings []Finding
	// js follows JSON string state over the text passed so far (WithJSON).
	js jsonState
	// held is what ModeBlock has decided and not yet written: all of it, at Close.
	held []byte
	// scratch and lowerScratch are reused for the normalised view and its lower-case copy.
	scratch      view
	lowerScratch []byte
	tokens       []int32
	// occ are the anchors of this step; occScratch keeps their storage between steps.
	occ, occScratch []occurrences
	tokenPos        []int
	// unstepped counts the bytes written since the last step.
	unstepped int
	closed    bool
	err       error
}

// NewStream returns a Stream writing to w.
func (r *Redactor) NewStream(w io.Writer) *Stream {
	return &Stream{r: r, w: w, pos: make([]int, len(r.detectors))}
}

// reset readies a used Stream for a new text written to w, keeping its scratch space.
func (s *Stream) reset(w io.Writer) {
	s.w, s.buf, s.base, s.done = w, s.buf[:0], 0, 0
	clear(s.pos)
	s.pending, s.findings, s.held = s.pending[:0], nil, s.held[:0]
	s.js, s.occ, s.closed, s.err, s.unstepped = jsonState{}, nil, false, nil, 0
}

// Findings returns what was found so far, in order.
func (s *Stream) Findings() []Finding { return s.findings }

// Write adds text to the stream.
func (s *Stream) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("redact: write after Close")
	}
	if s.err != nil {
		return 0, s.err
	}
	s.buf = append(s.buf, p...)
	// Each step looks again at the held-back tail, so stepping on every small write (a token of
	// an LLM stream) would scan the same bytes hundreds of times: steps wait for enough new text.
	if s.unstepped += len(p); s.unstepped >= s.r.stepBytes() {
		s.unstepped = 0
		s.step(false)
	}
	return len(p), s.err
}

// Close decides and writes everything held back.
func (s *Stream) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	s.step(true)
	if s.err == nil && s.r.mode == ModeBlock && len(s.findings) == 0 {
		_, s.err = s.w.Write(s.held) // nothing found: the held text goes out whole
	}
	return s.err
}

// step scans what can be decided and passes on what is final.
func (s *Stream) step(final bool) {
	end := s.base + len(s.buf)
	norm, raw := normalize(s.buf, &s.scratch), view{text: s.buf}
	// One lower-cased copy of each view serves every keyword search of this step.
	normLower, rawLower := lowerASCII(norm.text, &s.lowerScratch), []byte(nil)
	decided := end
	// Token starts, found once per view for every WordStart detector.
	s.occ = nil // anchors are found again, once, for this step's view
	normLimit := len(norm.text) - s.r.hold
	if final {
		normLimit = len(norm.text)
	}
	s.scanTokens(norm, normLower, normLimit)
	for i, d := range s.r.detectors {
		v, lower := norm, normLower
		if d.Raw {
			if rawLower == nil && len(d.Keywords) > 0 {
				rawLower = lowerASCII(raw.text, new([]byte))
			}
			v, lower = raw, rawLower
		}
		// A candidate starting before limit (in the detector's view) lies inside the buffer
		// with all its context, so more text cannot change the decision about it.
		limit := len(v.text) - s.r.hold
		if final {
			limit = len(v.text)
		}
		from := v.at(s.pos[i] - s.base)
		if from < limit && !d.WordStart {
			before := len(s.pending)
			var next int
			var occ *occurrences
			if j := s.r.anchors.slot[i]; j >= 0 {
				if s.occ == nil {
					s.occ = s.r.anchors.find(norm.text, normLower, s.occScratch)
					s.occScratch = s.occ
				}
				occ = &s.occ[j]
			}
			if occ != nil && len(occ.exact) == 0 && len(occ.kw) == 0 {
				next = limit // every candidate needs an anchor, and there is none
			} else {
				s.pending, next = d.scan(v.text, lower, occ, from, limit, s.pending)
			}
			for j := before; j < len(s.pending); j++ {
				s.pending[j].Start = s.base + v.orig(s.pending[j].Start)
				s.pending[j].End = s.base + v.orig(s.pending[j].End)
			}
			s.pos[i] = s.base + v.orig(min(next, len(v.text)))
		}
		decided = min(decided, max(s.pos[i], s.base+v.orig(max(limit, 0))))
	}
	if final {
		decided = end
	}
	s.pending = resolve(s.pending, s.r.order)

	// Pass text up to the decided point, or through a winning finding that straddles it.
	upto := max(decided, s.done)
	var out []byte
	cur := s.done
	rest := s.pending[:0]
	for _, f := range s.pending {
		if f.Start >= upto || f.Start < cur {
			if f.Start >= upto {
				rest = append(rest, f)
			}
			continue // f.Start < cur: it lost to a finding already passed
		}
		upto = max(upto, f.End)
		out = append(out, s.buf[cur-s.base:f.Start-s.base]...)
		s.js.advance(s.buf[cur-s.base : f.Start-s.base])
		if s.r.mode == ModeRedact {
			p := s.r.placeholderFor(f)
			if s.r.json && !s.js.inString {
				// A number's sign goes with the number: -"[REDACTED]" is not JSON. A step
				// never passes a trailing "-" (see below), so the sign is still in out.
				if f.Start > cur && s.buf[f.Start-1-s.base] == '-' {
					out = out[:len(out)-1]
				}
				p = append(append([]byte{'"'}, p...), '"')
			}
			out = append(out, p...)
		} else {
			out = append(out, s.buf[f.Start-s.base:f.End-s.base]...)
		}
		s.js.advance(s.buf[f.Start-s.base : f.End-s.base])
		cur = f.End
		s.findings = append(s.findings, f)
	}
	if s.r.json && !final && upto > cur && s.buf[upto-1-s.base] == '-' {
		upto-- // a minus sign may be the start of a number a later step replaces
	}
	s.pending = dropBefore(rest, upto)
	out = append(out, s.buf[cur-s.base:upto-s.base]...)
	s.js.advance(s.buf[cur-s.base : upto-s.base])
	s.done = upto
	if s.r.mode == ModeBlock {
		// Held until Close, and dropped once anything is found; the scan buffer is compacted
		// as in the other modes, so a long body is not scanned again at every step.
		if len(s.findings) == 0 {
			s.held = append(s.held, out...)
		} else {
			s.held = nil
		}
		s.compact(norm)
		return
	}
	if len(out) > 0 {
		if _, err := s.w.Write(out); err != nil {
			s.err = err
			return
		}
	}
	s.compact(norm)
}

// compact drops passed bytes, keeping Context bytes of the view (norm, this step's) before the
// earliest scan position for the validators' look-behind: characters the view drops (zero-width,
// escaped or not) take bytes but no room, so a run of them cannot push a context word out.
func (s *Stream) compact(norm view) {
	keepFrom := s.done
	for _, p := range s.pos {
		keepFrom = min(keepFrom, p)
	}
	back := s.base + norm.orig(max(0, norm.at(keepFrom-s.base)-Context))
	// Never less than before, and a bound keeps a flood of hidden characters from being held
	// forever.
	keepFrom = max(min(back, keepFrom-4*Context), s.base, keepFrom-maxLookBehind)
	// Whole characters only: the view must decode as the whole text's does.
	for keepFrom > s.base && !utf8.RuneStart(s.buf[keepFrom-s.base]) {
		keepFrom--
	}
	// Nor an escape sequence: the view reads \u200b as one (dropped) character.
	if k := escapeAround(s.buf, max(keepFrom-5, s.base)-s.base, keepFrom-s.base); k >= 0 {
		keepFrom = s.base + k
	}
	if n := keepFrom - s.base; n > 0 && n >= len(s.buf)/2 {
		s.buf = append(s.buf[:0], s.buf[n:]...)
		s.base = keepFrom
	}
}

// maxLookBehind bounds how far back compact keeps text for Context characters of look-behind.
const maxLookBehind = 64 << 10

func dropBefore(fs []Finding, upto int) []Finding {
	out := fs[:0]
	for _, f := range fs {
		if f.Start >= upto {
			out = append(out, f)
		}
	}
	return out
}

// jsonState tracks whether the text so far ends inside a JSON string. It reads bytes in order,
// so it is the same however the text was cut into writes.
type jsonState struct{ inString, escaped bool }

func (j *jsonState) advance(b []byte) {
	for len(b) > 0 {
		switch {
		case j.escaped:
			j.escaped, b = false, b[1:]
		case !j.inString:
			i := bytes.IndexByte(b, '"')
			if i < 0 {
				return
			}
			j.inString, b = true, b[i+1:]
		default:
			// The next quote ends the string unless a backslash comes first.
			q := bytes.IndexByte(b, '"')
			end := q
			if end < 0 {
				end = len(b)
			}
			if i := bytes.IndexByte(b[:end], '\\'); i >= 0 {
				j.escaped, b = true, b[i+1:]
				continue
			}
			if q < 0 {
				return
			}
			j.inString, b = false, b[q+1:]
		}
	}
}

// lowerASCII returns b with ASCII letters lower-cased, in *scratch's storage; byte offsets are
// unchanged, so keyword positions found in it are positions in b.
func lowerASCII(b []byte, scratch *[]byte) []byte {
	out := append((*scratch)[:0], b...)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	*scratch = out
	return out
}
