package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// Exit codes of `airlock scan`.
const (
	exitFindings = 4 // some image would be denied or quarantined
)

type scanOptions struct {
	policyFile string
	insecure   []string
	output     string
	// remoteOptions are extra registry options; tests point them at an in-process registry.
	remoteOptions []remote.Option
}

// scanReport is one image's line of `airlock scan -o json`.
type scanReport struct {
	classify.Result
	classify.Verdict
	Error string `json:"error,omitempty"`
}

func newScanCommand() *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan IMAGE...",
		Short: "Classify images as admission would, without a cluster",
		Long: `Classify each image: registry trusted or not, cosign signature verified, unsigned or invalid,
AI model artifact, model server or plain container, digest-pinned or not; then apply the policy.

Without --policy the default policy applies: no registry and no signer is trusted, so every image is
denied, and the report shows why. Write an AirlockPolicy (see policies/) to trust what you run.

Exit status: 0 when every verdict is allow, 4 when any is deny or quarantine, 1 on error.`,
		Example: `  airlock scan ghcr.io/acme/app:1.4 --policy policies/baseline.yaml
  airlock scan localhost:5000/models/llama@sha256:... --insecure-registry localhost:5000 -o json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	cmd.Flags().StringVar(&o.policyFile, "policy", "", "AirlockPolicy YAML file (default: the built-in secure default)")
	cmd.Flags().StringSliceVar(&o.insecure, "insecure-registry", nil, "registry host:port to reach over plain HTTP (repeatable)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runScan(ctx context.Context, out io.Writer, o *scanOptions, images []string) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unknown output format %q: use text or json", o.output)
	}
	ip := classify.DefaultImagePolicy()
	if o.policyFile != "" {
		ps, err := policy.LoadFile(o.policyFile)
		if err != nil {
			return err
		}
		if len(ps) != 1 {
			return fmt.Errorf("%s holds %d policies; scan applies one, so split the file", o.policyFile, len(ps))
		}
		ip = ps[0].Spec.Images
	}
	ip.InsecureRegistries = append(ip.InsecureRegistries, o.insecure...)
	p, err := classify.Compile(ctx, ip, nil)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	opts := append([]remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, o.remoteOptions...)
	c, err := classify.NewRemote(opts...)
	if err != nil {
		return err
	}

	results, errs := c.ClassifyAll(ctx, p, images)
	reports := make([]scanReport, len(images))
	var failed, flagged bool
	for i := range images {
		r := scanReport{Result: results[i]}
		if errs[i] != nil {
			failed = true
			r.Result.Image = images[i]
			r.Error = errs[i].Error()
			r.Verdict = classify.DecideError(p, images[i], errs[i])
		} else {
			r.Verdict = classify.Decide(p, results[i])
		}
		flagged = flagged || r.Verdict.Action != v1alpha1.ActionAllow
		reports[i] = r
	}

	if o.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		var v any = reports
		if len(reports) == 1 {
			v = reports[0]
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else if err := writeScanText(out, reports); err != nil {
		return err
	}
	switch {
	case failed:
		return &exitError{code: 1, err: errors.New("some images could not be classified (see the error field)")}
	case flagged:
		return &exitError{code: exitFindings}
	}
	return nil
}

func writeScanText(out io.Writer, reports []scanReport) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tVERDICT\tREGISTRY\tSIGNATURE\tKIND\tPINNED\tDIGEST")
	for _, r := range reports {
		sig := string(r.Signature)
		if r.SignedBy != "" {
			sig += " (" + r.SignedBy + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t\t%s\n", r.Image, r.Action, orDash(string(r.Registry)), orDash(sig), orDash(string(r.Kind)), r.Pinned, orDash(r.Digest))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reports {
		if len(r.Reasons) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s:\n  %s\n", r.Image, strings.Join(r.Reasons, "\n  "))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
