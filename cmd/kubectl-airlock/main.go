// Command kubectl-airlock is a kubectl plugin (`kubectl airlock ...`) that quarantines and
// releases workloads through Airlock's annotations and shows what is quarantined. It only writes
// annotations: Airlock's admission webhook decides who may release, and its reconciler isolates.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
)

func main() {
	if err := newRoot().ExecuteContext(ctrl.SetupSignalHandler()); err != nil {
		fmt.Fprintln(os.Stderr, "kubectl airlock:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "kubectl-airlock",
		Short:         "Quarantine, release and inspect workloads isolated by Airlock",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.kubeconfig, "kubeconfig", "", "path to the kubeconfig file")
	root.PersistentFlags().StringVar(&g.context, "context", "", "kubeconfig context to use")
	root.PersistentFlags().StringVarP(&g.namespace, "namespace", "n", "", "namespace (default: the context's)")
	root.AddCommand(newQuarantine(g), newRelease(g), newStatus(g))
	return root
}
