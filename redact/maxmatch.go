package redact

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// maxMatchLen is the longest match, in bytes, a parsed pattern can make (ok false: unbounded).
// The scanner hands the regular expression only that many bytes from a candidate's start: Go
// then runs its backtracker over a short input instead of its slower NFA over the rest of the
// text. Without end-of-text assertions (which check forbids) a path's success depends only on
// the bytes it consumes, so the match is the same.
func maxMatchLen(re *syntax.Regexp) (n int, ok bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			n += runeMax(r, re.Flags&syntax.FoldCase != 0)
		}
		return n, true
	case syntax.OpCharClass:
		for i := 1; i < len(re.Rune); i += 2 {
			n = max(n, utf8.RuneLen(re.Rune[i]))
		}
		return n, true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return utf8.UTFMax, true
	case syntax.OpCapture:
		return maxMatchLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return 0, false
	case syntax.OpQuest:
		return maxMatchLen(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 {
			return 0, false
		}
		m, ok := maxMatchLen(re.Sub[0])
		return m * re.Max, ok
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			m, ok := maxMatchLen(sub)
			if !ok {
				return 0, false
			}
			n += m
		}
		return n, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			m, ok := maxMatchLen(sub)
			if !ok {
				return 0, false
			}
			n = max(n, m)
		}
		return n, true
	}
	return 0, false
}

// runeMax is the longest encoding of r, or of any rune case-folding to it.
func runeMax(r rune, fold bool) int {
	n := utf8.RuneLen(r)
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			n = max(n, utf8.RuneLen(f))
		}
	}
	return max(n, 1)
}
