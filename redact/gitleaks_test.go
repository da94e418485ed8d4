package redact

import (
	"encoding/base64"
	"math/rand"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"
)

// sample builds a string that re matches as a value would appear: characters at random (so values
// have the entropy real secrets have), long repetitions for the value's own characters (at least
// 8 of them) and the fewest for the separators and names around it.
func sample(re *syntax.Regexp, rng *rand.Rand, b *strings.Builder, repeated bool) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		var ascii [][2]rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], min(re.Rune[i+1], 0x7e)
			if lo < 0x21 && hi >= 0x21 {
				lo = 0x21 // no control characters or spaces inside a value
			}
			for ; lo <= hi && lo < utf8.RuneSelf; lo++ {
				if lo != '"' && lo != '\\' { // JSON would escape them
					ascii = append(ascii, [2]rune{lo, lo})
				}
			}
		}
		if len(ascii) == 0 {
			b.WriteRune(re.Rune[0])
			return
		}
		r := ascii[rng.Intn(len(ascii))]
		b.WriteRune(r[0] + rune(rng.Intn(int(r[1]-r[0]+1))))
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		if repeated {
			b.WriteByte(byte('a' + rng.Intn(26)))
		} else {
			b.WriteByte('.') // the unescaped dots of host names
		}

	case syntax.OpCapture:
		sample(re.Sub[0], rng, b, repeated)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sample(s, rng, b, repeated)
		}
	case syntax.OpAlternate:
		sample(re.Sub[0], rng, b, repeated)
	case syntax.OpQuest: // optional parts are left out
	case syntax.OpPlus:
		for range 8 {
			sample(re.Sub[0], rng, b, true)
		}
	case syntax.OpStar:
	case syntax.OpRepeat:
		n := re.Min
		if n >= 8 {
			n = re.Max
			if n < 0 {
				n = re.Min + 8
			}
		}
		for range n {
			sample(re.Sub[0], rng, b, true)
		}
	}
}

// TestGitleaksRulesFindTheirOwnValues checks every converted rule end to end: a value generated
// from the rule's own pattern, next to the rule's first keyword as gitleaks requires, is found
// by the full default redactor (as the rule, or by one of Airlock's own detectors, which win
// ties). The text is plain: several rules expect the raw quotes of XML or shell files.
func TestGitleaksRulesFindTheirOwnValues(t *testing.T) {
	ds := Gitleaks()
	if len(ds) < 190 {
		t.Fatalf("%d gitleaks rules converted, want the ~197 of gitleaks v8.30.1", len(ds))
	}
	r, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for _, d := range ds {
		re, _ := syntax.Parse(d.Pattern.String(), syntax.Perl)
		found := false
		var last string
		for attempt := 0; attempt < 5 && !found; attempt++ {
			var b strings.Builder
			sample(re, rng, &b, false)
			value := b.String()
			last = value
			text := "the " + d.Keywords[0] + " one is\n" + value + " thanks"
			at := strings.Index(text, value)
			_, fs := r.Redact([]byte(text))
			for _, f := range fs {
				if f.Rule == d.ID || (f.Start < at+len(value) && f.End > at) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: a value of its own pattern was not found: %q", d.ID, last)
		}
	}
}

// TestGitleaksRuleRedactsWholeSecret: where a rule's capture groups are alternatives or pieces,
// not the secret, the whole match is redacted; redacting the first group that matched (as
// gitleaks reports it) left all but a few bytes of a base64-encoded JWT in clear.
func TestGitleaksRuleRedactsWholeSecret(t *testing.T) {
	r, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	jwt := base64.StdEncoding.EncodeToString([]byte("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"))
	out, fs := r.Redact([]byte("the service token is " + jwt + " thanks"))
	if len(fs) == 0 || strings.Contains(string(out), jwt[len(jwt)-40:]) || strings.Contains(string(out), jwt[8:48]) {
		t.Errorf("base64 JWT not redacted whole: %q (findings %v)", out, fs)
	}
}
