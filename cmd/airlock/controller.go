package main

import (
	"fmt"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
)

type controllerOptions struct {
	metricsAddr, healthAddr string
	leaderElect             bool
	leaderElectionNamespace string
}

func newControllerCommand() *cobra.Command {
	o := &controllerOptions{}
	zapOpts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run Airlock's controllers in the cluster",
		Long: `Run Airlock's controllers against the cluster of the current kubeconfig (or in-cluster config):
today the AirlockPolicy status reconciler, which compiles each policy and reports a Valid condition.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
			scheme := runtime.NewScheme()
			if err := clientgoscheme.AddToScheme(scheme); err != nil {
				return err
			}
			if err := v1alpha1.AddToScheme(scheme); err != nil {
				return err
			}
			cfg, err := ctrl.GetConfig()
			if err != nil {
				return fmt.Errorf("no cluster to talk to: set KUBECONFIG or run in a pod: %w", err)
			}
			mgr, err := ctrl.NewManager(cfg, ctrl.Options{
				Scheme:                  scheme,
				Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
				HealthProbeBindAddress:  o.healthAddr,
				LeaderElection:          o.leaderElect,
				LeaderElectionID:        "airlock-controller.airlock.dev",
				LeaderElectionNamespace: o.leaderElectionNamespace,
			})
			if err != nil {
				return fmt.Errorf("creating the controller manager: %w", err)
			}
			r := &policy.Reconciler{Client: mgr.GetClient(), Secrets: policy.SecretReader{Reader: mgr.GetAPIReader()},
				Recorder: mgr.GetEventRecorder(policy.ControllerName)}
			if err := r.SetupWithManager(mgr); err != nil {
				return err
			}
			if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
				return err
			}
			if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
				return err
			}
			return mgr.Start(ctrl.SetupSignalHandler())
		},
	}
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	cmd.Flags().StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	cmd.Flags().BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader so only one replica reconciles")
	cmd.Flags().StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: the pod's own)")
	bindGoFlags(cmd, zapOpts.BindFlags)
	return cmd
}
