package redact

import (
	"bytes"
	"math/bits"
	"slices"
)

// Numbers, names and phrases start where a token starts. Detectors marked WordStart are tried
// together in one pass over the token starts of the normalised view: each start is dispatched, by
// its byte, to the detectors that can begin there, instead of each detector walking every byte.

// tokenGroup is the Redactor's table for that pass.
type tokenGroup struct {
	// dets are the indices of the WordStart detectors, at most 64: bit j of a mask is dets[j].
	dets []int
	// byText and byLower are the detectors that can start at a byte of the text (their
	// pattern's first bytes) or, for keyword detectors, of its lower-case copy.
	byText, byLower [256]uint64
}

func newTokenGroup(ds []*Detector) (tokenGroup, error) {
	var g tokenGroup
	for i, d := range ds {
		if !d.WordStart {
			continue
		}
		j := len(g.dets)
		if j == 64 {
			return g, errTooManyWordStart
		}
		g.dets = append(g.dets, i)
		for b := range 256 {
			switch {
			case d.KeywordStart && d.kwByFirst[b] != nil:
				g.byLower[b] |= 1 << j
			case !d.KeywordStart && d.starts[b]:
				g.byText[b] |= 1 << j
			}
		}
	}
	return g, nil
}

// tokenStarts appends the positions where a token starts (see Detector.WordStart).
func tokenStarts(text []byte, out []int32) []int32 {
	prevAlnum := false
	for i, c := range text {
		if !prevAlnum && !isSpace(c) {
			out = append(out, int32(i))
		}
		// The n of \n ends a token as a space would: "\nSSN" starts one at S.
		prevAlnum = isAlnum(c) && !escapedLetter(text, i)
	}
	return out
}

// scanTokens runs the WordStart detectors over the view up to limit, as Detector.scan would
// one by one: a detector tries the token starts from its own next position, and after a finding
// goes on from the finding's end.
func (s *Stream) scanTokens(v view, lower []byte, limit int) {
	g := &s.r.tokens
	if len(g.dets) == 0 || limit <= 0 {
		return
	}
	limit = min(limit, len(v.text))
	pos := s.tokenPos[:0]
	from := limit
	for _, i := range g.dets {
		p := v.at(s.pos[i] - s.base)
		pos = append(pos, p)
		from = min(from, p)
	}
	s.tokenPos = pos
	if from >= limit {
		return
	}
	s.tokens = tokenStarts(v.text[:limit], s.tokens[:0])
	before := len(s.pending)
	k, _ := slices.BinarySearch(s.tokens, int32(from))
	for _, t32 := range s.tokens[k:] {
		t := int(t32)
		for m := g.byText[v.text[t]] | g.byLower[lower[t]]; m != 0; m &= m - 1 {
			j := bits.TrailingZeros64(m)
			if t < pos[j] {
				continue
			}
			d := s.r.detectors[g.dets[j]]
			if d.KeywordStart {
				if !d.keywordAt(lower, t) {
					continue
				}
			} else if d.Quick != nil && !d.Quick(v.text, t) {
				continue
			}
			loc := d.match(v.text, t)
			if loc == nil {
				continue
			}
			var ok bool
			if s.pending, ok = d.accept(v.text, lower, t, loc, s.pending); ok {
				pos[j] = t + loc[1]
			}
		}
	}
	for j := before; j < len(s.pending); j++ {
		s.pending[j].Start = s.base + v.orig(s.pending[j].Start)
		s.pending[j].End = s.base + v.orig(s.pending[j].End)
	}
	for j, i := range g.dets {
		if v.at(s.pos[i]-s.base) < limit { // scanned in this pass
			s.pos[i] = s.base + v.orig(min(max(pos[j], limit), len(v.text)))
		}
	}
}

// keywordAt reports whether one of the keywords starts at lower[s:].
func (d *Detector) keywordAt(lower []byte, s int) bool {
	for _, k := range d.kwByFirst[lower[s]] {
		if bytes.HasPrefix(lower[s:], []byte(k)) {
			return true
		}
	}
	return false
}
