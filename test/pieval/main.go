// Command pieval measures Airlock's prompt-injection detectors on public labelled sets, which are
// not committed: fetch them and pass their paths.
//
//	go run ./test/pieval -attacks prompt_injection.json [-attacks ...] -benign NotInject_one.json [-benign ...]
//
// Attack files are CyberSecEval's prompt_injection*.json (each user_input is an attack); benign
// files are NotInject's (each prompt is benign but holds trigger words). It prints recall on the
// attacks, by injection variant, and the false-positive rate on the benign prompts.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/airlock-dev/airlock/redact"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	var attacks, benign files
	flag.Var(&attacks, "attacks", "CyberSecEval prompt_injection JSON file (repeatable)")
	flag.Var(&benign, "benign", "NotInject JSON file (repeatable)")
	threshold := flag.Float64("threshold", 0.5, "InjectionScore at or above which a prompt is flagged")
	flag.Parse()
	r, err := redact.New(redact.PromptInjection(), redact.WithMode(redact.ModeDetect))
	if err != nil {
		fail(err)
	}
	flagged := func(text string) bool {
		_, fs := r.Redact([]byte(text))
		return redact.InjectionScore(fs) >= *threshold
	}

	byVariant := map[string][2]int{} // variant -> {flagged, total}
	var hit, total int
	for _, path := range attacks {
		var items []struct {
			UserInput string `json:"user_input"`
			Variant   string `json:"injection_variant"`
			Language  string `json:"speaking_language"`
		}
		load(path, &items)
		for _, it := range items {
			v := byVariant[it.Variant]
			v[1]++
			total++
			if flagged(it.UserInput) {
				v[0]++
				hit++
			}
			byVariant[it.Variant] = v
		}
	}
	var fp, benignTotal int
	for _, path := range benign {
		var items []struct {
			Prompt string `json:"prompt"`
		}
		load(path, &items)
		for _, it := range items {
			benignTotal++
			if flagged(it.Prompt) {
				fp++
			}
		}
	}
	fmt.Printf("threshold %.2f\n", *threshold)
	if total > 0 {
		fmt.Printf("recall: %d/%d = %.1f%%\n", hit, total, 100*float64(hit)/float64(total))
		names := make([]string, 0, len(byVariant))
		for n := range byVariant {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := byVariant[n]
			fmt.Printf("  %-32s %3d/%3d\n", n, v[0], v[1])
		}
	}
	if benignTotal > 0 {
		fmt.Printf("false positives: %d/%d = %.1f%%\n", fp, benignTotal, 100*float64(fp)/float64(benignTotal))
	}
}

func load(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pieval:", err)
	os.Exit(1)
}
