package redact

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// byteSet is a set of bytes, as a lookup table.
type byteSet [256]bool

// firstBytes computes the bytes a match of re can start with, so the scanner tries the pattern
// only at those positions: a byte-table loop instead of the regexp engine over every byte.
// Non-ASCII runes contribute the UTF-8 lead bytes of their ranges.
func firstBytes(pattern string) (byteSet, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return byteSet{}, err
	}
	var set byteSet
	if nullable := first(re.Simplify(), &set); nullable {
		for i := range set {
			set[i] = true // a pattern that can match empty can start anywhere
		}
	}
	return set, nil
}

// first adds to set the first bytes of re and reports whether re can match the empty string.
func first(re *syntax.Regexp, set *byteSet) bool {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		addRune(set, re.Rune[0], re.Flags&syntax.FoldCase != 0)
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
				set[r] = true
			}
			if hi >= utf8.RuneSelf {
				addLeadBytes(set, max(lo, utf8.RuneSelf), hi)
			}
		}
		return false
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		for i := range set {
			set[i] = true
		}
		return false
	case syntax.OpCapture:
		return first(re.Sub[0], set)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !first(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range re.Sub {
			nullable = first(sub, set) || nullable
		}
		return nullable
	case syntax.OpStar, syntax.OpQuest:
		first(re.Sub[0], set)
		return true
	case syntax.OpPlus:
		return first(re.Sub[0], set)
	case syntax.OpRepeat:
		n := first(re.Sub[0], set)
		return n || re.Min == 0
	case syntax.OpEmptyMatch:
		return true
	}
	// Anything else (assertions are rejected earlier): assume it may start anywhere.
	for i := range set {
		set[i] = true
	}
	return true
}

func addRune(set *byteSet, r rune, fold bool) {
	runes := []rune{r}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			runes = append(runes, f)
		}
	}
	for _, x := range runes {
		if x < utf8.RuneSelf {
			set[x] = true
		} else {
			var buf [utf8.UTFMax]byte
			utf8.EncodeRune(buf[:], x)
			set[buf[0]] = true
		}
	}
}

// addLeadBytes adds the first bytes of the UTF-8 encodings of the runes lo..hi (non-ASCII). UTF-8
// keeps rune order, so they are the bytes from lo's first byte to hi's. A range holding U+FFFD
// also matches any invalid byte (the regexp engine decodes it as U+FFFD), so it adds them all.
func addLeadBytes(set *byteSet, lo, hi rune) {
	if lo <= utf8.RuneError && utf8.RuneError <= hi {
		for b := 0x80; b < 256; b++ {
			set[b] = true
		}
		return
	}
	var a, z [utf8.UTFMax]byte
	utf8.EncodeRune(a[:], lo)
	utf8.EncodeRune(z[:], min(hi, unicode.MaxRune))
	for b := int(a[0]); b <= int(z[0]); b++ {
		set[b] = true
	}
}
