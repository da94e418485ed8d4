package redact

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
)

// Context is how many bytes before and after a candidate a validator may look at.
const Context = 64

// Detector proposes and validates candidates of one kind of sensitive value.
type Detector struct {
	// ID names the rule ("us-ssn"); Type is the kind of value ("ssn"), used in placeholders.
	ID, Type string
	Risk     Risk
	// Keywords, lower-case: the detector runs only when one appears in the text (a cheap
	// prefilter before any regular expression). Empty means always run.
	Keywords []string
	// Pattern proposes candidates. It must not use ^, $, \A, \z or \b: validators check
	// boundaries, which keeps detection independent of where a stream is cut.
	Pattern *regexp.Regexp
	// Literal, instead of Pattern, proposes every occurrence of these exact bytes: binary magic
	// numbers, which Go's UTF-8 regular expressions cannot express.
	Literal []byte
	// Extend, with Literal, finds where a candidate starting at s ends (ok false: none does):
	// for values delimited by markers, which a bounded regular expression would scan slowly.
	Extend func(text []byte, s int) (e int, ok bool)
	// MaxLen bounds a candidate's length in bytes.
	MaxLen int
	// Raw detectors see the text as it is, not normalised: they look for the very characters
	// normalisation removes (zero-width runs).
	Raw bool
	// Group, when positive, is the capture group that is the value (the finding's span): a
	// pattern may match "password=" to find a value without redacting the name. -1 takes the
	// first group that matched, for a value written in alternative ways (quoted or not).
	Group int
	// Validate accepts a candidate text[start:end]; text holds at least Context bytes around it
	// when the input does. Nil accepts every candidate.
	Validate func(text []byte, start, end int) bool
	// KeywordStart says every candidate starts with one of Keywords (in any case): the scan
	// jumps from one keyword occurrence to the next instead of trying every position.
	KeywordStart bool
	// Quick, when set, is a cheap test of the bytes at a position that every candidate
	// passes, run before the regular expression.
	Quick func(text []byte, s int) bool
	// Require, when set, is a byte every candidate contains within its first RequireWithin
	// bytes (the @ of an e-mail address): positions too far from the next one are skipped.
	Require       byte
	RequireWithin int
	// RequireRun, with Require, says which bytes fill a candidate up to the Require byte: a
	// candidate can only start inside the unbroken run of them just before it.
	RequireRun func(byte) bool
	// CheckValue, when set, is the last check, on the finding's value (the Group's span, or the
	// whole match) and the whole match: entropy thresholds and allowlists.
	CheckValue func(value, match []byte) bool
	// WordStart says every candidate starts where a token starts: after a byte that is not a
	// letter or digit (nor the letter of an escape such as \n), on a byte that is not white
	// space. The scan then visits only those positions, found once for all detectors.
	WordStart bool
	// TruePositives and FalsePositives are samples the detector must accept and reject; tests
	// run them, so a rule and its evidence live together.
	TruePositives, FalsePositives []string

	// starts and anchored are derived by compile: the bytes a candidate can start with, and the
	// pattern anchored at the start, tried only there.
	starts   byteSet
	anchored *regexp.Regexp
	// prefix is the pattern's literal prefix when it has one of two bytes or more: the scan
	// jumps from one occurrence to the next.
	prefix []byte
	// fewStarts, when set, are the only (at most four) bytes a candidate can start with: the
	// scan jumps to the next of them.
	fewStarts []byte
	// kwByFirst lists Keywords by their first byte (WordStart with KeywordStart).
	kwByFirst [256][]string
	// window is how many bytes from a candidate's start the pattern is run on: the longest
	// match it can make (see maxMatchLen), and never more than MaxLen+1.
	window int
}

// compile derives what the scanner needs from Pattern.
func (d *Detector) compile() error {
	if d.Pattern == nil {
		return nil
	}
	var err error
	if d.starts, err = firstBytes(d.Pattern.String()); err != nil {
		return fmt.Errorf("redact: detector %s: %w", d.ID, err)
	}
	if d.anchored, err = regexp.Compile(`^(?:` + d.Pattern.String() + `)`); err != nil {
		return fmt.Errorf("redact: detector %s: %w", d.ID, err)
	}
	for _, k := range d.Keywords {
		d.kwByFirst[k[0]] = append(d.kwByFirst[k[0]], k)
	}
	var few []byte
	for b, ok := range d.starts {
		if ok {
			few = append(few, byte(b))
		}
	}
	if len(few) <= 4 {
		d.fewStarts = few
	}
	if re, err := syntax.Parse(d.Pattern.String(), syntax.Perl); err == nil {
		// An unbounded pattern sees MaxLen+1 bytes: a longer match is rejected anyway, and the
		// engine stays off the rest of the text.
		d.window = d.MaxLen + 1
		if n, ok := maxMatchLen(re.Simplify()); ok {
			d.window = min(n, d.window)
		}
	}
	if p, _ := d.Pattern.LiteralPrefix(); len(p) >= 2 {
		d.prefix = []byte(p)
	}
	return nil
}

// check reports a misconfigured detector, naming it and the field.
func (d *Detector) check() error {
	switch {
	case d.ID == "" || d.Type == "":
		return fmt.Errorf("redact: detector %q: ID and Type are required", d.ID)
	case (d.Pattern == nil) == (d.Literal == nil):
		return fmt.Errorf("redact: detector %s: set exactly one of Pattern and Literal", d.ID)
	case d.Extend != nil && d.Literal == nil:
		return fmt.Errorf("redact: detector %s: Extend needs Literal", d.ID)
	case d.Literal != nil && len(d.Literal) > d.MaxLen:
		return fmt.Errorf("redact: detector %s: Literal is longer than MaxLen", d.ID)
	case d.WordStart && (d.Pattern == nil || d.Raw):
		return fmt.Errorf("redact: detector %s: WordStart needs Pattern and the normalised view (not Raw)", d.ID)
	case slices.Contains(d.Keywords, ""):
		return fmt.Errorf("redact: detector %s: empty keyword", d.ID)
	case d.MaxLen <= 0:
		return fmt.Errorf("redact: detector %s: MaxLen must be positive", d.ID)
	case d.Risk < RiskLow || d.Risk > RiskCritical:
		return fmt.Errorf("redact: detector %s: Risk %d out of range", d.ID, d.Risk)
	}
	if d.Pattern == nil {
		return nil
	}
	re, err := syntax.Parse(d.Pattern.String(), syntax.Perl)
	if err != nil {
		return fmt.Errorf("redact: detector %s: %w", d.ID, err)
	}
	if op, found := findAssertion(re); found {
		return fmt.Errorf("redact: detector %s: Pattern uses an anchor or \\b (%v); check boundaries in Validate instead", d.ID, op)
	}
	return nil
}

// findAssertion finds a zero-width assertion (^, $, \A, \z, \b, \B) in a parsed pattern: their
// result depends on where the text is cut, which a stream must not.
func findAssertion(re *syntax.Regexp) (syntax.Op, bool) {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return re.Op, true
	}
	for _, sub := range re.Sub {
		if op, ok := findAssertion(sub); ok {
			return op, true
		}
	}
	return 0, false
}

// scan appends the valid candidates starting in [from, limit), trying each position in order: a
// rejected candidate moves the scan one byte on, not past itself, so it never hides a valid one
// that overlaps it. It returns where the next scan starts. Positions from limit on are left
// undecided: a candidate starting there may not be complete in text yet.
//
// A candidate at s is the pattern's match anchored at s, which is what an unanchored search would
// find there; only positions holding one of the pattern's first bytes are tried.
//
// occ, when not nil, holds where the detector's anchors are (see anchorIndex); nil means search.
func (d *Detector) scan(text, lower []byte, occ *occurrences, from, limit int, out []Finding) ([]Finding, int) {
	limit = min(limit, len(text))
	// nearKw starts below any s-Context, so the first position searches for a keyword.
	nextReq, nextPrefix, nearKw := -1, -1, math.MinInt/2
	var nextKw []int
	for s := from; s < limit; s++ {
		if d.prefix != nil {
			if nextPrefix < s {
				if occ != nil {
					nextPrefix = occ.nextExact(s)
					if nextPrefix < 0 || nextPrefix >= limit {
						return out, limit
					}
				} else if i := bytes.Index(text[s:], d.prefix); i < 0 || s+i >= limit {
					return out, limit
				} else {
					nextPrefix = s + i
				}
			}
			s = nextPrefix
		}
		if len(d.Keywords) > 0 && !d.KeywordStart {
			// A candidate needs a keyword within Context of itself: skip stretches without one.
			if nearKw < s-Context {
				if occ != nil {
					nearKw = occ.nextKeyword(max(0, s-Context), min(limit+d.MaxLen+Context, len(lower)))
				} else {
					nearKw = d.nextKeyword(lower, max(0, s-Context), limit+d.MaxLen+Context)
				}
				if nearKw < 0 {
					return out, limit
				}
			}
			if nearKw > s+d.MaxLen+Context {
				s = nearKw - d.MaxLen - Context - 1
				continue
			}
		}
		if d.KeywordStart && occ != nil {
			if s = occ.nextKeyword(s, len(lower)); s < 0 || s >= limit {
				return out, limit
			}
		} else if d.KeywordStart {
			// The next occurrence of each keyword, searched again only once passed.
			if nextKw == nil {
				nextKw = make([]int, len(d.Keywords))
				for j := range nextKw {
					nextKw[j] = -1
				}
			}
			// A keyword needs only to start before limit: text holds the rest of it.
			next := len(lower)
			for j, k := range d.Keywords {
				if nextKw[j] < s {
					if i := bytes.Index(lower[s:], []byte(k)); i >= 0 {
						nextKw[j] = s + i
					} else {
						nextKw[j] = len(lower) // none: never searched again
					}
				}
				next = min(next, nextKw[j])
			}
			if next >= limit {
				return out, limit
			}
			s = next
		}
		var loc []int
		if d.Literal != nil {
			if occ != nil {
				if s = occ.nextExact(s); s < 0 || s >= limit {
					return out, limit
				}
			} else if i := bytes.Index(text[s:], d.Literal); i < 0 || s+i >= limit {
				return out, limit
			} else {
				s += i
			}
			loc = []int{0, len(d.Literal)}
			if d.Extend != nil {
				e, ok := d.Extend(text, s)
				if !ok {
					continue
				}
				loc[1] = e - s
			}
		} else {
			if d.fewStarts != nil && !d.starts[text[s]] {
				next := limit
				for _, b := range d.fewStarts {
					if i := bytes.IndexByte(text[s:next], b); i >= 0 {
						next = s + i
					}
				}
				if next >= limit {
					return out, limit
				}
				s = next
			}
			if !d.starts[text[s]] || (d.Quick != nil && !d.Quick(text, s)) {
				continue
			}
			if d.Require != 0 {
				if nextReq < s {
					if i := bytes.IndexByte(text[s:], d.Require); i < 0 {
						nextReq = len(text)
					} else {
						nextReq = s + i
					}
				}
				if nextReq-s > d.RequireWithin {
					s = nextReq - d.RequireWithin - 1
					continue
				}
				if d.RequireRun != nil {
					runStart := nextReq
					for runStart > s && d.RequireRun(text[runStart-1]) {
						runStart--
					}
					if runStart > s {
						s = runStart - 1
						continue
					}
				}
			}
			if loc = d.match(text, s); loc == nil {
				continue
			}
		}
		var ok bool
		if out, ok = d.accept(text, lower, s, loc, out); ok {
			if e := s + loc[1]; e >= limit {
				return out, e
			} else {
				s = e - 1
			}
		}
	}
	return out, limit
}

// match runs the anchored pattern at s, on no more bytes than it can match (see maxMatchLen).
func (d *Detector) match(text []byte, s int) []int {
	in := text[s:]
	if d.window > 0 && len(in) > d.window {
		in = in[:d.window]
	}
	if d.Group != 0 {
		return d.anchored.FindSubmatchIndex(in)
	}
	return d.anchored.FindIndex(in)
}

// accept validates the candidate the pattern (or literal) matched at s, loc relative to s, and
// appends its finding.
func (d *Detector) accept(text, lower []byte, s int, loc []int, out []Finding) ([]Finding, bool) {
	e := s + loc[1]
	if e-s > d.MaxLen || e == s || !d.keywordNear(lower, s, e) || (d.Validate != nil && !d.Validate(text, s, e)) {
		return out, false
	}
	f := Finding{Type: d.Type, Rule: d.ID, Risk: d.Risk, Start: s, End: e}
	g := d.Group
	for k := 1; g < 0 && 2*k < len(loc); k++ {
		if loc[2*k] >= 0 {
			g = k
		}
	}
	if g > 0 && loc[2*g] >= 0 {
		f.Start, f.End = s+loc[2*g], s+loc[2*g+1]
	}
	// Never cut an escape sequence in two: a span that starts on an escaped byte or ends on an
	// escaping backslash would leave a JSON string invalid once replaced.
	if f.Start < f.End && oddBackslashesBefore(text, f.Start) {
		f.Start = min(f.End, f.Start-1+escapeLen(text, f.Start-1))
	}
	if k := escapeAround(text, f.Start, f.End); k >= 0 {
		f.End = k
	}
	if d.CheckValue != nil && !d.CheckValue(text[f.Start:f.End], text[s:e]) {
		return out, false
	}
	if f.Start < f.End {
		out = append(out, f)
	}
	return out, true
}

// keywordNear reports whether one of the detector's keywords appears, in any case, within
// Context bytes of the candidate. Detectors without keywords always pass.
func (d *Detector) keywordNear(lower []byte, s, e int) bool {
	if len(d.Keywords) == 0 {
		return true
	}
	window := lower[max(0, s-Context):min(len(lower), e+Context)]
	for _, k := range d.Keywords {
		if bytes.Contains(window, []byte(k)) {
			return true
		}
	}
	return false
}

// nextKeyword returns the first position at or after from where one of the keywords starts,
// searching lower[from:until], or -1.
func (d *Detector) nextKeyword(lower []byte, from, until int) int {
	until = min(until, len(lower))
	best := -1
	for _, k := range d.Keywords {
		if i := bytes.Index(lower[from:until], []byte(k)); i >= 0 && (best < 0 || from+i < best) {
			best = from + i
		}
	}
	return best
}

// escapeLen is the length of the escape sequence whose backslash is text[j]: six for \uXXXX,
// two for the others.
func escapeLen(text []byte, j int) int {
	if j+1 < len(text) && text[j+1] == 'u' {
		return 6
	}
	return 2
}

// escapeAround returns the backslash of an escape sequence that starts in [start, end) and ends
// after end, or -1: a span must end before it, not inside it.
func escapeAround(text []byte, start, end int) int {
	for k := max(start, end-5); k < end; k++ {
		if text[k] == '\\' && !oddBackslashesBefore(text, k) && k+escapeLen(text, k) > end {
			return k
		}
	}
	return -1
}
