package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/airlock-dev/airlock/redact"
)

// exitBlocked is the exit status of `airlock redact --mode block` when something was found.
const exitBlocked = 3

type redactOptions struct {
	mode, findings, output string
}

func newRedactCommand() *cobra.Command {
	o := &redactOptions{}
	cmd := &cobra.Command{
		Use:   "redact",
		Short: "Redact sensitive data from stdin to stdout, as the egress proxy does in flight",
		Long: `Read stdin, find PII, secrets and other sensitive values, and write stdout:

  --mode redact  replace each value with [REDACTED:TYPE] (default)
  --mode block   write nothing if anything is found, and exit 3
  --mode detect  pass the input through unchanged

Input is processed as a stream: a value split across reads is still caught, and memory stays
bounded. Findings (type, rule, risk, byte span; never the value) go to --findings as JSON lines,
or, with -o json, stdout carries {"findings": [...], "output": "..."} instead of the text.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRedact(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVar(&o.mode, "mode", "redact", "redact, block or detect")
	cmd.Flags().StringVar(&o.findings, "findings", "", "write findings to this file as JSON lines")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "text, or json for {findings, output}")
	return cmd
}

func runRedact(in io.Reader, out io.Writer, o *redactOptions) error {
	mode, err := redact.ParseMode(o.mode)
	if err != nil {
		return err
	}
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unknown output format %q: use text or json", o.output)
	}
	// A JSON body (first byte { or [) stays valid JSON after redaction.
	br := bufio.NewReaderSize(in, 64<<10)
	opts := []redact.Option{redact.WithMode(mode)}
	if head, _ := br.Peek(512); looksLikeJSON(head) {
		opts = append(opts, redact.WithJSON())
	}
	in = br
	r, err := redact.New(redact.Default(), opts...)
	if err != nil {
		return err
	}
	var text []byte
	var sink io.Writer = out
	if o.output == "json" {
		sink = writerFunc(func(p []byte) (int, error) { text = append(text, p...); return len(p), nil })
	}
	bw := bufio.NewWriterSize(sink, 64<<10)
	s := r.NewStream(bw)
	if _, err := io.CopyBuffer(s, in, make([]byte, 32<<10)); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	if err := errors.Join(s.Close(), bw.Flush()); err != nil {
		return err
	}
	fs := s.Findings()
	if o.findings != "" {
		if err := writeFindings(o.findings, fs); err != nil {
			return err
		}
	}
	if o.output == "json" {
		res := struct {
			Findings []redact.Finding `json:"findings"`
			Output   *string          `json:"output"`
		}{Findings: fs}
		if res.Findings == nil {
			res.Findings = []redact.Finding{}
		}
		if !(mode == redact.ModeBlock && len(fs) > 0) {
			t := string(text)
			res.Output = &t
		}
		if err := json.NewEncoder(out).Encode(res); err != nil {
			return err
		}
	}
	if mode == redact.ModeBlock && len(fs) > 0 {
		return &exitError{code: exitBlocked, err: fmt.Errorf("blocked: %d sensitive values found", len(fs))}
	}
	return nil
}

func writeFindings(path string, fs []redact.Finding) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--findings: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, x := range fs {
		if err := enc.Encode(x); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func looksLikeJSON(head []byte) bool {
	for _, c := range head {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}
