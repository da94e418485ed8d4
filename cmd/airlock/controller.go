package main

import (
	"fmt"
	"net"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/quarantine"
	"github.com/airlock-dev/airlock/webhook"
)

type controllerOptions struct {
	metricsAddr, healthAddr string
	leaderElect             bool
	namespace               string
	webhookHost             string
	webhookPort             int
	serviceName             string
	webhookURL              string
	certDir                 string
	certIPs                 []string
	exempt                  []string
	ownerClusterRole        string
	selfUsername            string
}

func newControllerCommand() *cobra.Command {
	o := &controllerOptions{}
	zapOpts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run Airlock's admission webhooks and controllers in the cluster",
		Long: `Run Airlock against the cluster of the current kubeconfig (or the in-cluster config):

  - the validating and mutating admission webhooks, with a self-managed CA and serving certificate
    kept in a Secret (or --cert-dir for certificates from cert-manager), and the webhook
    configurations, selecting namespaces labelled airlock.dev/mode=enforce|audit;
  - the AirlockPolicy status reconciler (leader-elected).

Metrics are served on --metrics-bind-address, /healthz and /readyz on --health-probe-bind-address.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
			return runController(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	f.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	f.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader for the reconcilers (webhooks are served by every replica)")
	f.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "airlock-system"), "Airlock's own namespace: holds its Secrets and Lease and is never judged")
	f.StringVar(&o.webhookHost, "webhook-host", "", "address the webhook server listens on (default all)")
	f.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the webhook server")
	f.StringVar(&o.serviceName, "service-name", "airlock-webhook", "Service through which the API server reaches the webhooks")
	f.StringVar(&o.webhookURL, "webhook-url", "", "base URL the API server calls instead of the Service (a control plane outside the cluster, e.g. https://127.0.0.1:9443)")
	f.StringVar(&o.certDir, "cert-dir", "", "serve tls.crt/tls.key from this directory (cert-manager) instead of a self-managed certificate")
	f.StringSliceVar(&o.certIPs, "cert-ip", nil, "extra IP address for the self-managed serving certificate (repeatable)")
	f.StringSliceVar(&o.exempt, "exempt-namespace", nil, "namespace never judged, besides Airlock's own and kube-system (repeatable)")
	f.StringVar(&o.selfUsername, "self-username", "", "the identity Airlock acts as, allowed to lift quarantines (default system:serviceaccount:NAMESPACE:airlock)")
	f.StringVar(&o.ownerClusterRole, "owner-clusterrole", "", "ClusterRole that owns the webhook configurations, so they are deleted with it (set by the Helm chart)")
	bindGoFlags(cmd, zapOpts.BindFlags)
	return cmd
}

func runController(cmd *cobra.Command, o *controllerOptions) error {
	scheme, err := newScheme(quarantine.AddCiliumToScheme)
	if err != nil {
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
		LeaderElectionNamespace: o.namespace,
	})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}

	if err := policy.Setup(mgr); err != nil {
		return err
	}

	wo := webhook.Options{
		Namespace: o.namespace, Host: o.webhookHost, Port: o.webhookPort, CertDir: o.certDir,
		ExemptNamespaces: o.exempt, OwnerClusterRole: o.ownerClusterRole,
		SelfUsernames: []string{o.selfUsername},
		RemoteOptions: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("airlock")},
	}
	if o.webhookURL != "" {
		wo.Endpoint.URL = o.webhookURL
	} else {
		port := int32(443)
		wo.Endpoint.Service = &admissionregistrationv1.ServiceReference{Namespace: o.namespace, Name: o.serviceName, Port: &port}
	}
	for _, s := range o.certIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("--cert-ip %q is not an IP address", s)
		}
		wo.CertIPs = append(wo.CertIPs, ip)
	}
	if o.selfUsername == "" {
		wo.SelfUsernames = []string{"system:serviceaccount:" + o.namespace + ":airlock"}
	}
	if _, err := webhook.Setup(mgr, wo); err != nil {
		return fmt.Errorf("setting up the admission webhooks: %w", err)
	}
	cilium, err := quarantine.Setup(mgr, quarantine.Isolation{IngressFromNamespace: o.namespace})
	if err != nil {
		return fmt.Errorf("setting up quarantine: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.Info("starting airlock controller", "namespace", o.namespace, "webhookPort", o.webhookPort, "cilium", cilium)
	return mgr.Start(cmd.Context())
}

// newScheme holds Kubernetes' built-in types, Airlock's, and those extra adds.
func newScheme(extra ...func(*runtime.Scheme) error) (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range append([]func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme}, extra...) {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
