package main

import (
	"flag"

	"github.com/spf13/cobra"
)

// bindGoFlags adds to cmd the flags a library registers on a standard-library FlagSet
// (controller-runtime's zap options).
func bindGoFlags(cmd *cobra.Command, bind func(*flag.FlagSet)) {
	fs := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	bind(fs)
	cmd.Flags().AddGoFlagSet(fs)
}
