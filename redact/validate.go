package redact

import (
	"bytes"
	"math"
	"strings"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// bounded reports whether the candidate is not glued to more of the same: the byte before and
// the byte after (if any) fail inToken. A JSON or C escape before it (\n, \t, ...) is a
// separator, not a letter, so values at the start of a line inside a JSON string are found.
func bounded(text []byte, s, e int, inToken func(byte) bool) bool {
	before := s == 0 || !inToken(text[s-1]) || escapedLetter(text, s-1)
	return before && (e >= len(text) || !inToken(text[e]))
}

// escapedLetter reports whether text[i] is the letter of an escape sequence (the n of \n).
func escapedLetter(text []byte, i int) bool {
	switch text[i] {
	case 'n', 'r', 't', 'b', 'f':
		return oddBackslashesBefore(text, i)
	}
	return false
}

// oddBackslashesBefore reports whether text[i] is escaped: preceded by an odd run of backslashes.
func oddBackslashesBefore(text []byte, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && text[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// numberToken: digits, letters, and a '-' or '.' joined to a digit (part of a longer number,
// version or identifier).
func numberBounded(text []byte, s, e int) bool {
	if !numberStart(text, s) || (e < len(text) && isAlnum(text[e])) {
		return false
	}
	if e+1 < len(text) && (text[e] == '-' || text[e] == '.' || text[e] == '/') && isAlnum(text[e+1]) {
		return false
	}
	return true
}

// numberStart is numberBounded's test of what comes before s: detectors run it as their Quick
// test, so positions inside a longer token never reach the regular expression.
func numberStart(text []byte, s int) bool {
	if s > 0 && isAlnum(text[s-1]) && !escapedLetter(text, s-1) {
		return false
	}
	return s < 2 || !(text[s-1] == '-' || text[s-1] == '.' || text[s-1] == '/') || !isAlnum(text[s-2])
}

// digitsAhead counts the digits in text[s:s+n] up to the first byte that is neither a digit nor
// in allowed. A candidate at s of at most n of those bytes has no more digits: detectors whose
// values need more reject the position without running their pattern.
func digitsAhead(text []byte, s, n int, allowed string) int {
	d := 0
	for _, c := range text[s:min(len(text), s+n)] {
		if isDigit(c) {
			d++
		} else if strings.IndexByte(allowed, c) < 0 {
			break
		}
	}
	return d
}

func digitsOf(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if isDigit(c) {
			out = append(out, c)
		}
	}
	return out
}

// luhn reports whether a digit string passes the Luhn checksum.
func luhn(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// entropy is the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	h := 0.0
	for _, n := range counts {
		if n > 0 {
			p := float64(n) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}

// placeholderWords mark values that stand in for a secret in docs and templates.
var placeholderWords = [][]byte{
	[]byte("your"), []byte("example"), []byte("xxxx"), []byte("placeholder"), []byte("redacted"),
	[]byte("dummy"), []byte("changeme"), []byte("replace"), []byte("<"), []byte("${"), []byte("{{"), []byte("..."),
}

// looksLikePlaceholder reports whether a value is a template, not a secret.
func looksLikePlaceholder(v []byte) bool {
	l := bytes.ToLower(v)
	for _, w := range placeholderWords {
		if bytes.Contains(l, w) {
			return true
		}
	}
	return false
}

// allSame reports whether every digit is the same (1111 1111 1111 1111).
func allSame(d []byte) bool {
	for _, c := range d {
		if c != d[0] {
			return false
		}
	}
	return true
}
