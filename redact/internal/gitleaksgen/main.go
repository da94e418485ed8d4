// Command gitleaksgen converts gitleaks' maintained rule set into redact's data file
// (redact/gitleaks_rules.json), run by `go generate ./redact`.
//
// The streaming scanner forbids zero-width assertions, whose result depends on where a stream
// is cut, so each rule's pattern is rewritten: a leading or trailing \b becomes a boundary check,
// and the usual trailing terminator "(?:[\x60'"\s;]|\\[nr]|$)" becomes a check that a terminator
// or the end of the text follows the match. Rules with assertions elsewhere, without a pattern,
// or for values redact's own detectors find are left out, each with the reason.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"

	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// covered are gitleaks rules for values redact's own detectors already find (with validation
// gitleaks does not do), or that match too much in free text (generic-api-key).
var covered = map[string]string{
	"aws-access-token": "aws-access-key-id", "github-pat": "github-token", "github-oauth": "github-token",
	"github-app-token": "github-token", "github-refresh-token": "github-token", "github-fine-grained-pat": "github-fine-grained-pat",
	"gitlab-pat": "gitlab-pat", "openai-api-key": "openai-api-key", "anthropic-api-key": "anthropic-api-key",
	"gcp-api-key": "google-api-key", "huggingface-access-token": "huggingface-token", "stripe-access-token": "stripe-secret-key",
	"jwt": "jwt", "private-key": "private-key", "cohere-api-token": "cohere-api-key", "slack-bot-token": "slack-token",
	"slack-user-token": "slack-token", "generic-api-key": "generic-secret-assignment",
	"kubernetes-secret-yaml": "(a multi-line YAML document, not a value in flight)", "pkcs12-file": "(a file path rule)",
}

type allowlist struct {
	Target    string   `json:"target,omitempty"` // "secret" (default) or "match"
	Regexes   []string `json:"regexes,omitempty"`
	StopWords []string `json:"stopWords,omitempty"`
}

type rule struct {
	ID            string      `json:"id"`
	Description   string      `json:"description,omitempty"`
	Pattern       string      `json:"pattern"`
	Keywords      []string    `json:"keywords,omitempty"`
	Entropy       float64     `json:"entropy,omitempty"`
	Group         int         `json:"group,omitempty"`
	KeywordStart  bool        `json:"keywordStart,omitempty"`
	BoundaryStart bool        `json:"boundaryStart,omitempty"`
	BoundaryEnd   bool        `json:"boundaryEnd,omitempty"`
	Terminator    string      `json:"terminator,omitempty"`
	Allowlists    []allowlist `json:"allowlists,omitempty"`
}

type file struct {
	Source  string            `json:"source"`
	Rules   []rule            `json:"rules"`
	Global  []allowlist       `json:"global,omitempty"`
	Skipped map[string]string `json:"skipped"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gitleaksgen VERSION OUTPUT.json")
		os.Exit(2)
	}
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		fail(err)
	}
	out := file{Source: "github.com/zricethezav/gitleaks/v8 " + os.Args[1] + " config/gitleaks.toml", Skipped: map[string]string{}}
	ids := make([]string, 0, len(d.Config.Rules))
	for id := range d.Config.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := d.Config.Rules[id]
		if by, ok := covered[id]; ok {
			out.Skipped[id] = "covered by " + by
			continue
		}
		if r.Regex == nil {
			out.Skipped[id] = "no pattern"
			continue
		}
		conv, err := convert(r.Regex.String())
		if err != nil {
			out.Skipped[id] = err.Error()
			continue
		}
		conv.ID, conv.Description, conv.Keywords, conv.Entropy = id, r.Description, r.Keywords, r.Entropy
		conv.KeywordStart = startsWithKeyword(conv.Pattern, r.Keywords)
		conv.Group = r.SecretGroup
		if conv.Group == 0 && r.Regex.NumSubexp() > 0 && groupOneEnclosesAll(r.Regex.String()) {
			// gitleaks takes the first group that matched as the secret. Where group 1 holds
			// the whole secret (and any other group sits inside it) that is group 1; where the
			// groups are alternatives or pieces (jwt-base64's header names, a Teams webhook's
			// UUID parts) the whole match is redacted, or the secret would leak around a
			// fragment.
			conv.Group = 1
		}
		conv.Allowlists = allowlists(r.Allowlists)
		out.Rules = append(out.Rules, conv)
	}
	out.Global = allowlists(d.Config.Allowlists)
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(os.Args[2], append(b, '\n'), 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("%d rules converted, %d left out\n", len(out.Rules), len(out.Skipped))
}

// convert rewrites a pattern's leading and trailing assertions as checks.
func convert(pattern string) (rule, error) {
	var r rule
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return r, err
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	if len(subs) > 0 && subs[0].Op == syntax.OpWordBoundary {
		r.BoundaryStart, subs = true, subs[1:]
	}
	if n := len(subs); n > 0 {
		switch last := subs[n-1]; {
		case last.Op == syntax.OpWordBoundary:
			r.BoundaryEnd, subs = true, subs[:n-1]
		case last.Op == syntax.OpAlternate:
			var rest []*syntax.Regexp
			for _, alt := range last.Sub {
				if alt.Op != syntax.OpEndText {
					rest = append(rest, alt)
				}
			}
			if len(rest) < len(last.Sub) && len(rest) > 0 {
				term := &syntax.Regexp{Op: syntax.OpAlternate, Sub: rest, Flags: last.Flags}
				if len(rest) == 1 {
					term = rest[0]
				}
				r.Terminator, subs = term.String(), subs[:n-1]
			}
		}
	}
	// "[\w.-]{0,50}?" before a keyword only widens the match with the variable's name: the
	// value is a capture group after the keyword. Without it, a match starts at its keyword and
	// the scanner tries only keyword positions.
	if len(subs) > 1 && subs[0].Op == syntax.OpRepeat && subs[0].Min == 0 && subs[0].Flags&syntax.NonGreedy != 0 {
		subs = subs[1:]
	}
	body := &syntax.Regexp{Op: syntax.OpConcat, Sub: subs, Flags: re.Flags}
	if len(subs) == 1 {
		body = subs[0]
	}
	if op, ok := assertion(body); ok {
		return r, fmt.Errorf("assertion %v inside the pattern", op)
	}
	r.Pattern = body.String()
	if _, err := regexp.Compile(r.Pattern); err != nil {
		return r, fmt.Errorf("rewritten pattern does not compile: %w", err)
	}
	return r, nil
}

// startsWithKeyword reports whether every match of pattern begins with one of the keywords
// (which gitleaks keeps in lower case), so the scanner may try the pattern only where a keyword
// starts.
func startsWithKeyword(pattern string, keywords []string) bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || len(keywords) == 0 {
		return false
	}
	set, _, ok := literals(re.Simplify())
	if !ok || len(set) == 0 {
		return false
	}
	for _, p := range set {
		found := false
		for _, k := range keywords {
			if strings.HasPrefix(strings.ToLower(p), k) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// literals returns the strings every match of re starts with: when complete, the exact set of
// strings re matches. ok is false when a match can start with something other than a literal.
func literals(re *syntax.Regexp) (set []string, complete, ok bool) {
	const most = 64
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true, true
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if out = append(out, string(r)); len(out) > 4 {
					return nil, false, false
				}
			}
		}
		return out, true, true
	case syntax.OpCapture:
		return literals(re.Sub[0])
	case syntax.OpAlternate:
		complete = true
		for _, sub := range re.Sub {
			s, c, o := literals(sub)
			if !o {
				return nil, false, false
			}
			set, complete = append(set, s...), complete && c
		}
		return set, complete, len(set) <= most
	case syntax.OpConcat:
		set, complete = []string{""}, true
		for _, sub := range re.Sub {
			s, c, o := literals(sub)
			if !o {
				return set, false, len(set) > 0 && set[0] != ""
			}
			var next []string
			for _, a := range set {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			if len(next) > most {
				return set, false, true
			}
			set, complete = next, c
			if !c {
				return set, false, true
			}
		}
		return set, complete, true
	}
	return nil, false, false
}

func assertion(re *syntax.Regexp) (syntax.Op, bool) {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return re.Op, true
	}
	for _, s := range re.Sub {
		if op, ok := assertion(s); ok {
			return op, true
		}
	}
	return 0, false
}

// allowlists keeps what can be checked on a value in flight: regexes and stop words. An
// allowlist whose conditions must all hold and that names paths or commits never applies.
func allowlists(as []*config.Allowlist) []allowlist {
	var out []allowlist
	for _, a := range as {
		if a.MatchCondition == config.AllowlistMatchAnd && (len(a.Paths) > 0 || len(a.Commits) > 0) {
			continue
		}
		// gitleaks collects stop words through a set, so their order varies from run to run.
		al := allowlist{StopWords: slices.Sorted(slices.Values(a.StopWords))}
		if a.RegexTarget == "match" || a.RegexTarget == "line" {
			al.Target = "match"
		}
		for _, re := range a.Regexes {
			al.Regexes = append(al.Regexes, re.String())
		}
		if len(al.Regexes) > 0 || len(al.StopWords) > 0 {
			out = append(out, al)
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gitleaksgen:", err)
	os.Exit(1)
}

// groupOneEnclosesAll reports whether every capture group of the pattern is group 1 or inside it.
func groupOneEnclosesAll(pattern string) bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return false
	}
	var one *syntax.Regexp
	var find func(*syntax.Regexp)
	find = func(r *syntax.Regexp) {
		if r.Op == syntax.OpCapture && r.Cap == 1 {
			one = r
			return
		}
		for _, sub := range r.Sub {
			if one == nil {
				find(sub)
			}
		}
	}
	find(re)
	return one != nil && countCaptures(one) == re.MaxCap() // MaxCap counts every group
}

func countCaptures(r *syntax.Regexp) int {
	n := 0
	if r.Op == syntax.OpCapture {
		n++
	}
	for _, sub := range r.Sub {
		n += countCaptures(sub)
	}
	return n
}
