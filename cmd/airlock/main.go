// Command airlock is Airlock's one binary: the controller, the egress proxy, the rate limiter, and
// the tools that work without a cluster (scan, redact, policy test). This file only wires
// subcommands; each lives in its own file.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
)

// exitError carries a process exit code through cobra without printing usage.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "airlock",
		Short:         "Runtime defense for Kubernetes: admission, quarantine, egress redaction, rate limits",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newScanCommand())
	root.AddCommand(newControllerCommand())
	root.AddCommand(newRedactCommand())
	root.AddCommand(newRatelimiterCommand())
	return root
}

func main() {
	// Ctrl-C and SIGTERM cancel the command's context, so servers shut down cleanly.
	ctx := ctrl.SetupSignalHandler()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if ee == nil || ee.err != nil {
			fmt.Fprintln(os.Stderr, "airlock:", err)
		}
		os.Exit(code)
	}
}
