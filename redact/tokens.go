package redact

import (
	"bytes"
	"errors"
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
	// byText are the detectors that can start at a byte of the text (their pattern's first
	// bytes). Keyword detectors are found by the first two bytes of the lower-case copy:
	// byBigram[b] indexes masks, the detectors with a keyword starting with bigram b (a
	// one-byte keyword counts for every second byte). Most words start no keyword at all.
	byText   [256]uint64
	byBigram []uint8
	masks    []uint64
}

func newTokenGroup(ds []*Detector) (tokenGroup, error) {
	g := tokenGroup{masks: []uint64{0}}
	bigrams := map[uint16]uint64{}
	for i, d := range ds {
		if !d.WordStart {
			continue
		}
		j := len(g.dets)
		if j == 64 {
			return g, errTooManyWordStart
		}
		g.dets = append(g.dets, i)
		if !d.KeywordStart {
			for b := range 256 {
				if d.starts[b] {
					g.byText[b] |= 1 << j
				}
			}
			continue
		}
		for _, k := range d.Keywords {
			if len(k) == 1 {
				for second := range 256 {
					bigrams[uint16(k[0])<<8|uint16(second)] |= 1 << j
				}
			} else {
				bigrams[bigram([]byte(k))] |= 1 << j
			}
		}
	}
	if len(bigrams) > 0 {
		g.byBigram = make([]uint8, 1<<16)
		index := map[uint64]uint8{0: 0}
		for b, m := range bigrams {
			k, ok := index[m]
			if !ok {
				if len(g.masks) == 256 {
					return g, errors.New("redact: too many distinct keyword sets among WordStart detectors")
				}
				k = uint8(len(g.masks))
				index[m] = k
				g.masks = append(g.masks, m)
			}
			g.byBigram[b] = k
		}
	}
	return g, nil
}

// keywordMask is the set of keyword detectors a token starting at lower[t] may begin.
func (g *tokenGroup) keywordMask(lower []byte, t int) uint64 {
	if g.byBigram == nil {
		return 0
	}
	second := byte(0)
	if t+1 < len(lower) {
		second = lower[t+1]
	}
	return g.masks[g.byBigram[uint16(lower[t])<<8|uint16(second)]]
}

// tokenStarts appends the positions where a token starts (see Detector.WordStart).
func tokenStarts(text []byte, out []int32) []int32 {
	prevAlnum := false
	for i, c := range text {
		class := byteClasses[c]
		if !prevAlnum && class&classSpace == 0 {
			out = append(out, int32(i))
		}
		// The n of \n ends a token as a space would: "\nSSN" starts one at S.
		prevAlnum = class&classAlnum != 0 && (i == 0 || text[i-1] != '\\' || !escapedLetter(text, i))
	}
	return out
}

// byteClasses is isAlnum and isSpace as one table lookup, for the loop over every byte.
var byteClasses = func() (t [256]uint8) {
	for c := range 256 {
		if isAlnum(byte(c)) {
			t[c] |= classAlnum
		}
		if isSpace(byte(c)) {
			t[c] |= classSpace
		}
	}
	return t
}()

const (
	classAlnum = 1 << iota
	classSpace
)

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
		for m := g.byText[v.text[t]] | g.keywordMask(lower, t); m != 0; m &= m - 1 {
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
