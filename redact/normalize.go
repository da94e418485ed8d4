package redact

import (
	"sort"
	"unicode/utf8"
)

// Normalisation defeats simple evasion before matching: zero-width and bidirectional control
// characters are dropped, full-width ASCII becomes ASCII, and Cyrillic and Greek letters that
// look like Latin ones become those. Matching runs on the normalised view; findings map back to
// the original bytes, so the output keeps every byte that is not redacted, and a redaction covers
// the original's hidden characters too.

// fold maps a rune to the ASCII byte it stands for, or drop to remove it; ok is false for runes
// kept as they are.
func fold(r rune) (b byte, drop, ok bool) {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		return byte(r - 0xFEE0), false, true
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2064,
		r >= 0x2066 && r <= 0x2069, r == 0xFEFF, r == 0x00AD:
		return 0, true, true // zero-width, bidi controls, soft hyphen
	}
	if b, ok := homoglyphs[r]; ok {
		return b, false, true
	}
	return 0, false, false
}

var homoglyphs = map[rune]byte{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
	// Greek
	'ο': 'o', 'α': 'a', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'ρ': 'p', 'τ': 't', 'υ': 'u',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// view is text as the detectors see it. idx[i] is the offset in the original of view byte i, and
// idx[len(text)] the original's length; idx is nil when the view is the original.
type view struct {
	text []byte
	idx  []int
}

// normalize returns the view of b; ASCII-only input is its own view, without copying.
func normalize(b []byte, scratch *view) view {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return view{text: b}
	}
	v := view{text: scratch.text[:0], idx: scratch.idx[:0]}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if c, drop, ok := fold(r); ok && !(r == utf8.RuneError && size <= 1) {
			if !drop {
				v.text = append(v.text, c)
				v.idx = append(v.idx, i)
			}
		} else {
			for k := range size {
				v.text = append(v.text, b[i+k])
				v.idx = append(v.idx, i+k)
			}
		}
		i += size
	}
	v.idx = append(v.idx, len(b))
	*scratch = v
	return v
}

// orig maps a view offset to the original's.
func (v view) orig(i int) int {
	if v.idx == nil {
		return i
	}
	return v.idx[i]
}

// at maps an original offset to the first view offset at or after it.
func (v view) at(o int) int {
	if v.idx == nil {
		return o
	}
	return sort.SearchInts(v.idx, o)
}
