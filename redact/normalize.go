package redact

import (
	"bytes"
	"encoding/binary"
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

// normalize returns the view of b; ASCII-only input without \u or \/ escapes is its own view,
// without copying.
//
// JSON escapes are read as the characters they stand for: Python's json.dumps and most HTTP
// clients escape every non-ASCII character, so "123\u200b-45-6789" or full-width digits written
// as \uff11 would otherwise slip past the folding, and https:\/\/ past URL patterns. Escapes of
// quotes, backslashes and control characters stay as written.
func normalize(b []byte, scratch *view) view {
	if isASCII(b) && !hasReadableEscape(b) {
		return view{text: b}
	}
	v := view{text: scratch.text[:0], idx: scratch.idx[:0]}
	for i := 0; i < len(b); {
		if b[i] == '\\' && i+1 < len(b) {
			if r, n := jsonEscape(b[i:]); n > 0 {
				if c, drop, ok := fold(r); ok {
					if !drop {
						v.text, v.idx = append(v.text, c), append(v.idx, i)
					}
				} else {
					n := len(v.text)
					v.text = utf8.AppendRune(v.text, r)
					for range len(v.text) - n {
						v.idx = append(v.idx, i)
					}
				}
				i += n
				continue
			}
			// Any other escape (\n, \", \\) is kept as written, both bytes together.
			v.text, v.idx = append(v.text, b[i], b[i+1]), append(v.idx, i, i+1)
			i += 2
			continue
		}
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

// isASCII reports whether b is all ASCII, eight bytes at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hasReadableEscape reports whether b holds a \u or \/ escape (see jsonEscape).
func hasReadableEscape(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\\')
		if i < 0 || i+1 >= len(b) {
			return false
		}
		if c := b[i+1]; c == 'u' || c == '/' {
			return true
		}
		b = b[i+2:] // past the escaped byte, which may be a backslash itself
	}
}

// jsonEscape decodes the escape at the start of b (a backslash): \/ and the \uXXXX of a printable
// character, returning it and the escape's length; n is 0 for escapes kept as written (quotes,
// backslashes, control characters, surrogates, incomplete ones).
func jsonEscape(b []byte) (r rune, n int) {
	if b[1] == '/' {
		return '/', 2
	}
	if b[1] != 'u' || len(b) < 6 {
		return 0, 0
	}
	for _, c := range b[2:6] {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, 0
		}
		r = r<<4 | d
	}
	switch {
	case r < 0x20, r == '"', r == '\\', r == 0x7f, r >= 0xD800 && r <= 0xDFFF:
		return 0, 0
	}
	return r, 6
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
