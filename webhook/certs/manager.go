package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Defaults of Manager's durations.
const (
	DefaultCAValidity    = 5 * 365 * 24 * time.Hour
	DefaultCertValidity  = 90 * 24 * time.Hour
	DefaultCAPropagation = 2 * time.Minute
	DefaultResync        = time.Minute
)

// Manager keeps the serving certificate. Every replica runs one: all read the same Secret, the
// first to see a certificate due for renewal replaces it (optimistic concurrency on the Secret's
// resourceVersion), and the others pick it up at their next resync. Certificates are renewed when
// a third of their lifetime is left.
//
// A new CA is published in the bundle first and used to sign the serving certificate only after
// CAPropagation, so the API server trusts the new certificate before it is served.
type Manager struct {
	// Client reads and writes the Secret; an uncached client needs only get, create and update on it.
	Client                client.Client
	Namespace, SecretName string
	// DNSNames and IPs are the names the serving certificate is valid for
	// (SERVICE.NAMESPACE.svc, or 127.0.0.1 for a local control plane).
	DNSNames []string
	IPs      []net.IP
	// OnCABundle is called with the CA bundle after each sync, to patch it into the webhook
	// configurations. It must be idempotent.
	OnCABundle func(ctx context.Context, caBundle []byte) error

	// Zero durations take the defaults above.
	CAValidity, CertValidity, CAPropagation, Resync time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	current atomic.Pointer[tls.Certificate]
	mu      sync.Mutex // serialises syncs
}

// GetCertificate serves the current certificate; it is the server's tls.Config.GetCertificate,
// so a rotated certificate is used by the next handshake without a restart.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := m.current.Load()
	if c == nil {
		return nil, errors.New("airlock: serving certificate not loaded yet")
	}
	return c, nil
}

// Ready reports (for /readyz) whether a certificate is loaded.
func (m *Manager) Ready(*http.Request) error {
	if m.current.Load() == nil {
		return errors.New("serving certificate not loaded yet")
	}
	return nil
}

// NeedLeaderElection is false: every replica serves webhooks and needs the certificate.
func (m *Manager) NeedLeaderElection() bool { return false }

// Start syncs now and then at every resync (or when a certificate falls due), until ctx ends.
func (m *Manager) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("certs")
	for {
		next, err := m.Sync(ctx)
		if err != nil {
			logger.Error(err, "syncing the webhook serving certificate; retrying")
			next = 5 * time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(next):
		}
	}
}

// Sync makes sure the Secret holds a valid CA and serving certificate, loads the certificate, and
// publishes the CA bundle. It returns when to sync next.
func (m *Manager) Sync(ctx context.Context) (time.Duration, error) { return m.sync(ctx, false) }

// Rotate issues a new serving certificate now, whatever the old one's expiry.
func (m *Manager) Rotate(ctx context.Context) error {
	_, err := m.sync(ctx, true)
	return err
}

func (m *Manager) sync(ctx context.Context, forceLeaf bool) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	resync := orDefault(m.Resync, DefaultResync)

	var sec corev1.Secret
	err := m.Client.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.SecretName}, &sec)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return 0, fmt.Errorf("reading secret %s/%s: %w", m.Namespace, m.SecretName, err)
	}
	b, perr := parse(sec.Data)
	data, next, changed, err := m.plan(now, sec.Data, b, perr, forceLeaf)
	if err != nil {
		return 0, err
	}
	if changed {
		sec.Namespace, sec.Name, sec.Type = m.Namespace, m.SecretName, corev1.SecretTypeOpaque
		sec.Data = data
		if exists {
			err = m.Client.Update(ctx, &sec)
		} else {
			err = m.Client.Create(ctx, &sec)
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			return time.Second, nil // another replica rotated first; read what it wrote
		}
		if err != nil {
			return 0, fmt.Errorf("writing secret %s/%s: %w", m.Namespace, m.SecretName, err)
		}
		if b, err = parse(data); err != nil {
			return 0, fmt.Errorf("the certificates just made do not parse: %w", err)
		}
		log.FromContext(ctx).Info("webhook serving certificate issued", "notAfter", b.leaf.NotAfter, "secret", m.SecretName)
	}
	// Serve the certificate before publishing the bundle: once the webhook configurations exist,
	// the API server calls at once, and a handshake without a certificate would fail it.
	cert := b.tlsCert
	m.current.Store(&cert)
	if m.OnCABundle != nil {
		if err := m.OnCABundle(ctx, b.caBundle); err != nil {
			return 0, fmt.Errorf("publishing the CA bundle: %w", err)
		}
	}
	return min(next, resync), nil
}

// plan decides what the Secret must hold now. It returns the new data when changed.
func (m *Manager) plan(now time.Time, old map[string][]byte, b *bundle, parseErr error, forceLeaf bool) (map[string][]byte, time.Duration, bool, error) {
	caValidity := orDefault(m.CAValidity, DefaultCAValidity)
	certValidity := orDefault(m.CertValidity, DefaultCertValidity)
	propagation := orDefault(m.CAPropagation, DefaultCAPropagation)

	if parseErr != nil || b == nil {
		// Nothing usable: start afresh. Nothing can be serving yet, so no propagation wait.
		ca, key, err := newCA(now, caValidity)
		if err != nil {
			return nil, 0, false, err
		}
		data, err := m.issue(now, certValidity, ca, key, nil, now)
		return data, certValidity / 3 * 2, true, err
	}

	caDue := now.After(b.caCert.NotAfter.Add(-caValidity / 3))
	if caDue {
		// Publish a new CA beside the old one; the old CA keeps signing until the new one has
		// propagated to the API server.
		ca, key, err := newCA(now, caValidity)
		if err != nil {
			return nil, 0, false, err
		}
		data, err := m.keep(old, b, ca, key, now)
		return data, propagation, true, err
	}

	leafLeft := b.leaf.NotAfter.Sub(now)
	leafDue := forceLeaf || leafLeft < certValidity/3 || !leafSignedBy(b.leaf, b.caCert, m.DNSNames, m.IPs)
	if !leafDue {
		return nil, leafLeft - certValidity/3, false, nil
	}
	if wait := b.publishAt.Add(propagation).Sub(now); wait > 0 && b.leaf.CheckSignatureFrom(b.caCert) != nil {
		return nil, wait, false, nil // the new CA is not trusted everywhere yet
	}
	data, err := m.issue(now, certValidity, b.caCert, b.caKey, b.caBundle, b.publishAt)
	return data, certValidity / 3 * 2, true, err
}

// issue signs a new serving certificate with the CA and returns the Secret's data.
func (m *Manager) issue(now time.Time, validity time.Duration, ca *x509.Certificate, key *ecdsa.PrivateKey, oldBundle []byte, publishAt time.Time) (map[string][]byte, error) {
	certPEM, keyPEM, err := newLeaf(now, validity, ca, key, m.DNSNames, m.IPs)
	if err != nil {
		return nil, err
	}
	caPEM, caKeyPEM, err := encodeCA(ca, key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		KeyCACert: caPEM, KeyCAKey: caKeyPEM, KeyCABundle: pruneBundle(appendCert(oldBundle, caPEM), now),
		KeyTLSCert: certPEM, KeyTLSKey: keyPEM, keyPublishedAt: []byte(publishAt.UTC().Format(time.RFC3339)),
	}, nil
}

// keep stores a new CA while the serving certificate stays as it is.
func (m *Manager) keep(old map[string][]byte, b *bundle, ca *x509.Certificate, key *ecdsa.PrivateKey, now time.Time) (map[string][]byte, error) {
	caPEM, caKeyPEM, err := encodeCA(ca, key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		KeyCACert: caPEM, KeyCAKey: caKeyPEM, KeyCABundle: pruneBundle(appendCert(b.caBundle, caPEM), now),
		KeyTLSCert: old[KeyTLSCert], KeyTLSKey: old[KeyTLSKey], keyPublishedAt: []byte(now.UTC().Format(time.RFC3339)),
	}, nil
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
