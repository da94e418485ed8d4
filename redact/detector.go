package redact

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
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
	// MaxLen bounds a candidate's length in bytes.
	MaxLen int
	// Raw detectors see the text as it is, not normalised: they look for the very characters
	// normalisation removes (zero-width runs).
	Raw bool
	// Group, when positive, is the capture group that is the value (the finding's span): a
	// pattern may match "password=" to find a value without redacting the name.
	Group int
	// Validate accepts a candidate text[start:end]; text holds at least Context bytes around it
	// when the input does. Nil accepts every candidate.
	Validate func(text []byte, start, end int) bool
	// TruePositives and FalsePositives are samples the detector must accept and reject; tests
	// run them, so a rule and its evidence live together.
	TruePositives, FalsePositives []string
}

// check reports a misconfigured detector, naming it and the field.
func (d *Detector) check() error {
	switch {
	case d.ID == "" || d.Type == "":
		return fmt.Errorf("redact: detector %q: ID and Type are required", d.ID)
	case (d.Pattern == nil) == (d.Literal == nil):
		return fmt.Errorf("redact: detector %s: set exactly one of Pattern and Literal", d.ID)
	case d.Literal != nil && len(d.Literal) > d.MaxLen:
		return fmt.Errorf("redact: detector %s: Literal is longer than MaxLen", d.ID)
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

// scan appends the valid candidates starting in [from, limit), scanning candidate by candidate:
// a rejected candidate moves the scan one byte on, not past itself, so it never hides a valid
// one that overlaps it. It returns where the next scan starts. Positions from limit on are left
// undecided: a candidate starting there may not be complete in text yet.
func (d *Detector) scan(text []byte, from, limit int, out []Finding) ([]Finding, int) {
	pos := from
	for pos < limit {
		var loc []int
		if d.Literal != nil {
			if i := bytes.Index(text[pos:], d.Literal); i >= 0 {
				loc = []int{i, i + len(d.Literal)}
			}
		} else if d.Group > 0 {
			loc = d.Pattern.FindSubmatchIndex(text[pos:])
		} else {
			loc = d.Pattern.FindIndex(text[pos:])
		}
		if loc == nil {
			return out, limit
		}
		s, e := pos+loc[0], pos+loc[1]
		if s >= limit {
			return out, limit
		}
		switch {
		case e-s > d.MaxLen || e == s:
			pos = s + 1 // longer than the detector promises (or empty): not a value
		case d.keywordNear(text, s, e) && (d.Validate == nil || d.Validate(text, s, e)):
			f := Finding{Type: d.Type, Rule: d.ID, Risk: d.Risk, Start: s, End: e}
			if d.Group > 0 && loc[2*d.Group] >= 0 {
				f.Start, f.End = pos+loc[2*d.Group], pos+loc[2*d.Group+1]
			}
			// Never cut an escape sequence in two: a span that starts on an escaped byte or ends
			// on an escaping backslash would leave a JSON string invalid once replaced.
			for f.Start < f.End && oddBackslashesBefore(text, f.Start) {
				f.Start++
			}
			for f.End > f.Start && oddBackslashesBefore(text, f.End) {
				f.End--
			}
			if f.Start < f.End {
				out = append(out, f)
			}
			pos = e
		default:
			pos = s + 1
		}
	}
	return out, pos
}

// keywordNear reports whether one of the detector's keywords appears, in any case, within
// Context bytes of the candidate. Detectors without keywords always pass.
func (d *Detector) keywordNear(text []byte, s, e int) bool {
	if len(d.Keywords) == 0 {
		return true
	}
	window := bytes.ToLower(text[max(0, s-Context):min(len(text), e+Context)])
	for _, k := range d.Keywords {
		if bytes.Contains(window, []byte(k)) {
			return true
		}
	}
	return false
}
