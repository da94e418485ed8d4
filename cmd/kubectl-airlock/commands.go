package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/quarantine"
)

func patchAnnotations(cmd *cobra.Command, c client.Client, o client.Object, kv map[string]*string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	return c.Patch(cmd.Context(), o, client.RawPatch(types.MergePatchType, patch))
}

func newQuarantine(g *globals) *cobra.Command {
	var reason, ttl string
	cmd := &cobra.Command{
		Use:     "quarantine KIND/NAME --reason TEXT [--ttl DURATION]",
		Short:   "Isolate a pod or workload: no ingress, egress only to DNS and the egress proxy",
		Example: "  kubectl airlock quarantine deployment/chatbot --reason 'exfiltration to pastebin' --ttl 24h",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return fmt.Errorf("--reason is required: say why, for whoever releases it")
			}
			if ttl != "" {
				if d, err := time.ParseDuration(ttl); err != nil || d <= 0 {
					return fmt.Errorf("--ttl %q: want a positive Go duration such as 24h", ttl)
				}
			}
			c, o, err := g.target(args[0])
			if err != nil {
				return err
			}
			kv := map[string]*string{v1alpha1.AnnotationQuarantine: ptr("true"), v1alpha1.AnnotationQuarantineReason: &reason}
			if ttl != "" {
				kv[quarantine.AnnotationTTL] = &ttl
			}
			if err := patchAnnotations(cmd, c, o, kv); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s quarantined\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in airlock.dev/quarantine-reason and in Events)")
	cmd.Flags().StringVar(&ttl, "ttl", "", "release automatically after this long (Go duration, e.g. 24h)")
	return cmd
}

func newRelease(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "release KIND/NAME",
		Short: "Lift a quarantine (only the policy's quarantine admins may)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, o, err := g.target(args[0])
			if err != nil {
				return err
			}
			if err := patchAnnotations(cmd, c, o, map[string]*string{v1alpha1.AnnotationQuarantine: nil}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s released\n", args[0])
			return nil
		},
	}
}

func newStatus(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "status [-A]",
		Short: "List quarantined pods with the reason, who asked, and since when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := g.client()
			if err != nil {
				return err
			}
			opts := []client.ListOption{client.MatchingLabels{v1alpha1.LabelQuarantined: "true"}}
			if !all {
				opts = append(opts, client.InNamespace(ns))
			}
			var pods corev1.PodList
			if err := c.List(cmd.Context(), &pods, opts...); err != nil {
				return err
			}
			return writeStatus(cmd, c, cmd.OutOrStdout(), pods.Items)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list quarantined pods of every namespace")
	return cmd
}

func writeStatus(cmd *cobra.Command, c client.Client, w io.Writer, pods []corev1.Pod) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tPOD\tBY\tSINCE\tVIA\tREASON")
	for i := range pods {
		p := &pods[i]
		chain, err := quarantine.Chain(cmd.Context(), c, p)
		if err != nil {
			return err
		}
		via, a := "-", map[string]string{}
		for _, o := range chain {
			if o.GetAnnotations()[v1alpha1.AnnotationQuarantine] == "true" {
				a = o.GetAnnotations()
				via = fmt.Sprintf("%T", o)[len("*v1."):] + "/" + o.GetName()
				break
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Namespace, p.Name, dash(a[v1alpha1.AnnotationQuarantinedBy]),
			dash(a[v1alpha1.AnnotationQuarantinedAt]), via, dash(a[v1alpha1.AnnotationQuarantineReason]))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ptr[T any](v T) *T { return &v }
