package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/webhook/certs"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// Options configure the admission webhooks of `airlock controller`.
type Options struct {
	// Namespace is Airlock's own namespace: it holds the certificate Secret and is never judged.
	Namespace string
	// ConfigurationName names both webhook configurations. Default "airlock".
	ConfigurationName string
	// Endpoint says how the API server reaches the webhooks.
	Endpoint Endpoint
	// Host and Port the webhook server listens on. Default port 9443.
	Host string
	Port int

	// CertDir, when set, serves the certificate in CertDir/tls.crt and tls.key (from
	// cert-manager) instead of managing one; CertDir/ca.crt is the CA bundle patched into the
	// webhook configurations.
	CertDir string
	// SecretName holds the self-managed CA and certificate. Default "airlock-webhook-tls".
	SecretName string
	// CertDNSNames and CertIPs are the names of the self-managed certificate; default the
	// Service's DNS names.
	CertDNSNames []string
	CertIPs      []net.IP

	// ExemptNamespaces are never judged, besides Namespace and kube-system.
	ExemptNamespaces []string
	// RemoteOptions reach registries (transport, keychain).
	RemoteOptions []remote.Option
	// SelfUsernames are the identities Airlock acts as, allowed to lift quarantines.
	SelfUsernames []string
	// OwnerClusterRole, when set, names a ClusterRole that owns the webhook configurations, so
	// they are garbage-collected with it (the Helm chart's, on uninstall).
	OwnerClusterRole string
	// Metrics registers the cache metrics; nil means controller-runtime's registry, which the
	// manager serves.
	Metrics prometheus.Registerer
}

// Webhooks is what Setup started; tests use it to rotate certificates and read cache statistics.
type Webhooks struct {
	Admission  *Admission
	Classifier *classify.Classifier
	// Certs is nil when the certificate comes from CertDir.
	Certs *certs.Manager
}

// Setup adds the admission webhooks to a manager: the webhook server, its certificate, the
// webhook configurations, and their metrics.
func Setup(mgr manager.Manager, o Options) (*Webhooks, error) {
	if o.Namespace == "" {
		return nil, fmt.Errorf("webhook: the Airlock namespace is required")
	}
	if o.ConfigurationName == "" {
		o.ConfigurationName = "airlock"
	}
	if o.SecretName == "" {
		o.SecretName = "airlock-webhook-tls"
	}
	if o.Port == 0 {
		o.Port = 9443
	}
	exempt := append([]string{o.Namespace, "kube-system"}, o.ExemptNamespaces...)

	classifier, err := classify.NewRemote(o.RemoteOptions...)
	if err != nil {
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Registry
	}
	if err := RegisterCacheMetrics(o.Metrics, classifier); err != nil {
		return nil, err
	}
	adm, err := NewAdmission(Config{
		Reader:           mgr.GetClient(),
		Secrets:          policy.SecretReader{Reader: mgr.GetAPIReader()},
		Classifier:       classifier,
		Scheme:           mgr.GetScheme(),
		Recorder:         mgr.GetEventRecorder("airlock-admission"),
		ExemptNamespaces: exempt,
		SelfUsernames:    o.SelfUsernames,
	})
	if err != nil {
		return nil, err
	}
	wh := &Webhooks{Admission: adm, Classifier: classifier}

	srvOpts := crwebhook.Options{Host: o.Host, Port: o.Port, CertDir: o.CertDir}
	// Kubernetes' own floor; nothing older is needed by any supported API server.
	srvOpts.TLSOpts = append(srvOpts.TLSOpts, func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 })
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return nil, err
	}
	apply := func(ctx context.Context, caBundle []byte) error {
		owner, err := clusterRoleOwner(ctx, direct, o.OwnerClusterRole)
		if err != nil {
			return err
		}
		return ApplyConfigurations(ctx, direct, o.ConfigurationName, o.Endpoint, exempt, caBundle, owner)
	}
	if o.CertDir != "" {
		if err := mgr.Add(caFileSync{path: filepath.Join(o.CertDir, "ca.crt"), apply: apply}); err != nil {
			return nil, err
		}
	} else {
		names := o.CertDNSNames
		if len(names) == 0 && o.Endpoint.Service != nil {
			s := o.Endpoint.Service
			names = []string{s.Name + "." + s.Namespace + ".svc", s.Name + "." + s.Namespace + ".svc.cluster.local"}
		}
		wh.Certs = &certs.Manager{
			Client: direct, Namespace: o.Namespace, SecretName: o.SecretName, DNSNames: names, IPs: o.CertIPs,
			OnCABundle: apply,
		}
		srvOpts.TLSOpts = append(srvOpts.TLSOpts, func(c *tls.Config) { c.GetCertificate = wh.Certs.GetCertificate })
		if err := mgr.Add(wh.Certs); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("serving-certificate", wh.Certs.Ready); err != nil {
			return nil, err
		}
	}
	srv := crwebhook.NewServer(srvOpts)
	srv.Register(ValidatePath, adm.Validator())
	srv.Register(MutatePath, adm.Mutator())
	if err := mgr.Add(srv); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("webhook-server", srv.StartedChecker()); err != nil {
		return nil, err
	}
	return wh, nil
}

// clusterRoleOwner returns an owner reference to the named ClusterRole, or nil for "".
func clusterRoleOwner(ctx context.Context, c client.Client, name string) (*metav1.OwnerReference, error) {
	if name == "" {
		return nil, nil
	}
	var cr rbacv1.ClusterRole
	if err := c.Get(ctx, client.ObjectKey{Name: name}, &cr); err != nil {
		return nil, fmt.Errorf("reading ClusterRole %s, the owner of the webhook configurations: %w", name, err)
	}
	return &metav1.OwnerReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: cr.Name, UID: cr.UID}, nil
}

// caFileSync publishes a CA bundle file (cert-manager's ca.crt) into the webhook configurations
// at start and every minute, so a renewed CA reaches the API server.
type caFileSync struct {
	path  string
	apply func(context.Context, []byte) error
}

func (s caFileSync) NeedLeaderElection() bool { return false }

func (s caFileSync) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("ca-bundle")
	for {
		b, err := os.ReadFile(s.path)
		if err == nil {
			err = s.apply(ctx, b)
		}
		if err != nil {
			logger.Error(err, "publishing the CA bundle", "file", s.path)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Minute):
		}
	}
}
