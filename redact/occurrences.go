package redact

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// The literal anchors of the byte-scanning detectors (their pattern's literal prefix, their
// Literal, their Keywords) are found in one pass over the text for all of them, instead of one
// bytes.Index per anchor per detector: short anchors whose first byte is common ("token",
// "sk-", "eyJ") made those searches stop at nearly every word.

// anchor is one literal a detector waits for.
type anchor struct {
	det int // index in the index's detector list
	// word is the anchor in lower case; exact, when set, the anchor as it must appear in the
	// text (prefixes and Literals are case-sensitive, Keywords are not).
	word, exact []byte
	keyword     bool
	// head and mask hold word's first (up to) four bytes, little-endian, so most candidates are
	// rejected by one 32-bit compare.
	head, mask uint32
}

// headOf returns the first four bytes of w (fewer when w is shorter) and their mask.
func headOf(w []byte) (head, mask uint32) {
	for i := 0; i < len(w) && i < 4; i++ {
		head |= uint32(w[i]) << (8 * i)
		mask |= 0xff << (8 * i)
	}
	return head, mask
}

// anchorIndex finds every anchor of a Redactor's indexed detectors. A position is looked at
// only when its first two lower-case bytes begin some anchor, and then only those anchors are
// compared.
type anchorIndex struct {
	dets []int // the indexed detectors, as indices in the Redactor's list
	slot []int // slot[i] is detector i's position in dets, or -1
	// bigrams has bit b set when some anchor starts with bigram b: 8 KB, which stays in the
	// L1 cache, so most positions are rejected without touching byBigram.
	bigrams [1 << 16 / 64]uint64
	// byBigram[b] is 1 + the index in lists of the anchors starting with bigram b, 0 for none.
	byBigram []uint16
	lists    [][]anchor
}

// indexable reports whether a detector's anchors can come from the index: every anchor is at
// least two bytes, and the detector reads the normalised view.
func indexable(d *Detector) bool {
	if d.Raw || d.WordStart {
		return false
	}
	n := 0
	for _, a := range append(append([][]byte{d.prefix}, d.Literal), keywordBytes(d.Keywords)...) {
		if a == nil {
			continue
		}
		if len(a) < 2 {
			return false
		}
		n++
	}
	return n > 0
}

func keywordBytes(ks []string) [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = []byte(k)
	}
	return out
}

func newAnchorIndex(ds []*Detector) anchorIndex {
	x := anchorIndex{slot: make([]int, len(ds)), byBigram: make([]uint16, 1<<16)}
	add := func(a anchor) {
		a.head, a.mask = headOf(a.word)
		b := bigram(a.word)
		x.bigrams[b/64] |= 1 << (b % 64)
		if x.byBigram[b] == 0 {
			x.lists = append(x.lists, nil)
			x.byBigram[b] = uint16(len(x.lists))
		}
		x.lists[x.byBigram[b]-1] = append(x.lists[x.byBigram[b]-1], a)
	}
	for i, d := range ds {
		x.slot[i] = -1
		if !indexable(d) {
			continue
		}
		j := len(x.dets)
		x.slot[i] = j
		x.dets = append(x.dets, i)
		for _, e := range [][]byte{d.prefix, d.Literal} {
			if e != nil {
				add(anchor{det: j, word: lowerASCII(e, new([]byte)), exact: e})
			}
		}
		for _, k := range d.Keywords {
			add(anchor{det: j, word: []byte(k), keyword: true})
		}
	}
	return x
}

func bigram(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// occurrences are where one detector's anchors are in the current view, ascending.
type occurrences struct {
	exact []int32    // starts of the prefix or Literal in the text
	kw    [][2]int32 // start and end of each keyword in the lower-case text
}

// find fills occ (one entry per indexed detector, reused) from one pass over the view.
func (x *anchorIndex) find(text, lower []byte, occ []occurrences) []occurrences {
	occ = slices.Grow(occ[:0], len(x.dets))[:len(x.dets)]
	for j := range occ {
		occ[j].exact, occ[j].kw = occ[j].exact[:0], occ[j].kw[:0]
	}
	for i := 0; i+1 < len(lower); i++ {
		b := uint16(lower[i])<<8 | uint16(lower[i+1])
		if x.bigrams[b/64]&(1<<(b%64)) == 0 {
			continue
		}
		var head uint32
		if i+4 <= len(lower) {
			head = binary.LittleEndian.Uint32(lower[i:])
		} else {
			head, _ = headOf(lower[i:])
		}
		list := x.lists[x.byBigram[b]-1]
		for k := range list {
			a := &list[k]
			switch {
			case head&a.mask != a.head || !bytes.HasPrefix(lower[i:], a.word):
			case a.keyword:
				o := &occ[a.det]
				// A keyword found again at the same start (another, shorter keyword) keeps
				// the first end: any end is as good for "starts at", and the shortest for
				// "fits before".
				if n := len(o.kw); n > 0 && o.kw[n-1][0] == int32(i) {
					o.kw[n-1][1] = min(o.kw[n-1][1], int32(i+len(a.word)))
				} else {
					o.kw = append(o.kw, [2]int32{int32(i), int32(i + len(a.word))})
				}
			case bytes.HasPrefix(text[i:], a.exact):
				o := &occ[a.det]
				if n := len(o.exact); n == 0 || o.exact[n-1] != int32(i) {
					o.exact = append(o.exact, int32(i))
				}
			}
		}
	}
	return occ
}

// nextExact is the first start of the prefix or Literal at or after s, or -1.
func (o *occurrences) nextExact(s int) int {
	i, _ := slices.BinarySearch(o.exact, int32(s))
	if i == len(o.exact) {
		return -1
	}
	return int(o.exact[i])
}

// nextKeyword is the first start at or after from of a keyword that ends by until, or -1.
func (o *occurrences) nextKeyword(from, until int) int {
	i, _ := slices.BinarySearchFunc(o.kw, int32(from), func(h [2]int32, t int32) int { return int(h[0] - t) })
	for ; i < len(o.kw); i++ {
		if int(o.kw[i][0]) >= until {
			return -1
		}
		if int(o.kw[i][1]) <= until {
			return int(o.kw[i][0])
		}
	}
	return -1
}
