package redact

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

//go:generate go run ./internal/gitleaksgen v8.30.1 gitleaks_rules.json

// gitleaksRules is gitleaks' maintained rule set, converted for the streaming scanner by
// internal/gitleaksgen (which says what was rewritten and lists every rule left out, with why).
//
//go:embed gitleaks_rules.json
var gitleaksRules []byte

type gitleaksFile struct {
	Source string          `json:"source"`
	Rules  []gitleaksRule  `json:"rules"`
	Global []gitleaksAllow `json:"global"`
}

type gitleaksRule struct {
	ID            string          `json:"id"`
	Pattern       string          `json:"pattern"`
	Keywords      []string        `json:"keywords"`
	Entropy       float64         `json:"entropy"`
	Group         int             `json:"group"`
	KeywordStart  bool            `json:"keywordStart"`
	BoundaryStart bool            `json:"boundaryStart"`
	BoundaryEnd   bool            `json:"boundaryEnd"`
	Terminator    string          `json:"terminator"`
	Allowlists    []gitleaksAllow `json:"allowlists"`
}

type gitleaksAllow struct {
	Target    string   `json:"target"`
	Regexes   []string `json:"regexes"`
	StopWords []string `json:"stopWords"`
}

// gitleaksMaxLen bounds a converted rule's candidates: a few rules allow values of any length.
const gitleaksMaxLen = 1024

// Gitleaks returns detectors for the secrets of gitleaks' rule set that Airlock's own detectors
// do not already cover (about 200: cloud providers, SaaS APIs, CI systems, package registries).
// Each keeps its rule's keywords, entropy threshold and allowlists (regexes and stop words, its
// own and the global ones); findings are typed by rule, "twilio_api_key".
func Gitleaks() []*Detector {
	ds, err := gitleaksDetectors(gitleaksRules)
	if err != nil {
		panic(err) // the embedded file is generated and tested
	}
	return ds
}

func gitleaksDetectors(data []byte) ([]*Detector, error) {
	var f gitleaksFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("redact: gitleaks rules: %w", err)
	}
	global, err := compileAllows(f.Global)
	if err != nil {
		return nil, fmt.Errorf("redact: gitleaks global allowlist: %w", err)
	}
	var ds []*Detector
	for _, r := range f.Rules {
		d, err := r.detector(global)
		if err != nil {
			return nil, fmt.Errorf("redact: gitleaks rule %s: %w", r.ID, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

func (r gitleaksRule) detector(global []allow) (*Detector, error) {
	pattern, err := regexp.Compile(r.Pattern)
	if err != nil {
		return nil, err
	}
	maxLen := gitleaksMaxLen
	if re, err := syntax.Parse(r.Pattern, syntax.Perl); err == nil {
		if n, ok := maxMatchLen(re.Simplify()); ok && n < maxLen {
			maxLen = n
		}
	}
	var term *regexp.Regexp
	if r.Terminator != "" {
		if term, err = regexp.Compile(`^(?:` + r.Terminator + `)`); err != nil {
			return nil, err
		}
	}
	allows, err := compileAllows(r.Allowlists)
	if err != nil {
		return nil, err
	}
	allows = append(allows, global...)
	entropyMin := r.Entropy
	return &Detector{
		ID: "gitleaks-" + r.ID, Type: strings.ReplaceAll(r.ID, "-", "_"), Risk: RiskHigh, MaxLen: maxLen,
		Keywords: r.Keywords, KeywordStart: r.KeywordStart, Pattern: pattern, Group: r.Group,
		Validate: func(text []byte, s, e int) bool {
			if r.BoundaryStart && s > 0 && isWordByte(text[s-1]) == isWordByte(text[s]) {
				return false
			}
			if r.BoundaryEnd && e < len(text) && isWordByte(text[e-1]) == isWordByte(text[e]) {
				return false
			}
			// gitleaks' "(...|$)": a terminator follows, or the text ends here.
			return term == nil || e == len(text) || term.Match(text[e:min(len(text), e+8)])
		},
		CheckValue: func(value, match []byte) bool {
			if entropyMin > 0 && entropy(value) <= entropyMin {
				return false
			}
			for _, a := range allows {
				if a.allows(value, match) {
					return false
				}
			}
			return true
		},
	}, nil
}

// allow is one compiled allowlist: a value it matches is not a secret.
type allow struct {
	onMatch   bool
	regexes   []*regexp.Regexp
	stopWords []string
}

func compileAllows(as []gitleaksAllow) ([]allow, error) {
	var out []allow
	for _, a := range as {
		c := allow{onMatch: a.Target == "match", stopWords: a.StopWords}
		for _, s := range a.Regexes {
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, err
			}
			c.regexes = append(c.regexes, re)
		}
		out = append(out, c)
	}
	return out, nil
}

func (a allow) allows(value, match []byte) bool {
	target := value
	if a.onMatch {
		target = match
	}
	for _, re := range a.regexes {
		if re.Match(target) {
			return true
		}
	}
	if len(a.stopWords) > 0 {
		lower := strings.ToLower(string(value))
		for _, w := range a.stopWords {
			if strings.Contains(lower, w) {
				return true
			}
		}
	}
	return false
}

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
