package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestManager(t *testing.T) (*Manager, *clock, *[][]byte) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var published [][]byte
	m := &Manager{
		Client:    fake.NewClientBuilder().WithScheme(scheme.Scheme).Build(),
		Namespace: "airlock-system", SecretName: "tls",
		DNSNames: []string{"airlock.airlock-system.svc"}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
		CAValidity: 300 * 24 * time.Hour, CertValidity: 30 * 24 * time.Hour, CAPropagation: 2 * time.Minute,
		Now: clk.now,
		OnCABundle: func(_ context.Context, b []byte) error {
			published = append(published, append([]byte(nil), b...))
			return nil
		},
	}
	return m, clk, &published
}

func served(t *testing.T, m *Manager) *x509.Certificate {
	t.Helper()
	c, err := m.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

func secret(t *testing.T, m *Manager) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := m.Client.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: m.SecretName}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// verifies checks that the leaf chains to the bundle at time at, for the name, as the API server would.
func verifies(leaf *x509.Certificate, bundle []byte, name string, at time.Time) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(bundle)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func certsIn(bundle []byte) int {
	n := 0
	for rest := bundle; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return n
		}
	}
}

func TestFirstSyncIssuesAndPublishes(t *testing.T) {
	m, clk, published := newTestManager(t)
	ctx := context.Background()
	if _, err := m.GetCertificate(nil); err == nil {
		t.Fatal("a certificate was served before the first sync")
	}
	if m.Ready(nil) == nil {
		t.Error("ready before a certificate was loaded")
	}
	next, err := m.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaf := served(t, m)
	if len(*published) != 1 || verifies(leaf, (*published)[0], "airlock.airlock-system.svc", clk.t) != nil {
		t.Fatalf("served certificate does not verify against the published bundle")
	}
	if !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IP SAN missing: %v", leaf.IPAddresses)
	}
	if next > DefaultResync {
		t.Errorf("next sync in %s, want at most the resync interval", next)
	}
	rv := secret(t, m).ResourceVersion
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if secret(t, m).ResourceVersion != rv || served(t, m).SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Error("a sync with nothing due changed the certificate")
	}
}

func TestLeafRenewedWhenAThirdIsLeft(t *testing.T) {
	m, clk, published := newTestManager(t)
	ctx := context.Background()
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	first := served(t, m)
	clk.t = clk.t.Add(19 * 24 * time.Hour) // 11 of 30 days left: not yet
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if served(t, m).SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatal("renewed too early")
	}
	clk.t = clk.t.Add(2 * 24 * time.Hour) // 9 days left
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	second := served(t, m)
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("not renewed with a third of its life left")
	}
	bundle := (*published)[len(*published)-1]
	if err := verifies(second, bundle, "airlock.airlock-system.svc", clk.t); err != nil {
		t.Errorf("renewed certificate does not verify: %v", err)
	}
	if !bytes.Equal(bundle, (*published)[0]) {
		t.Error("renewing the serving certificate changed the CA bundle")
	}
}

func TestCARotationPublishesBeforeUse(t *testing.T) {
	m, clk, published := newTestManager(t)
	ctx := context.Background()
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Sync daily, as the controller would, until the CA falls due (a third of 300 days left);
	// serving certificates renew along the way.
	var oldLeaf *x509.Certificate
	var bundle []byte
	for day := 1; day <= 300; day++ {
		oldLeaf = served(t, m)
		clk.t = clk.t.Add(24 * time.Hour)
		if _, err := m.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if bundle = (*published)[len(*published)-1]; certsIn(bundle) > 1 {
			if day < 199 || day > 201 {
				t.Errorf("CA rotated on day %d, want day 200", day)
			}
			break
		}
		if err := verifies(served(t, m), bundle, "airlock.airlock-system.svc", clk.t); err != nil {
			t.Fatalf("day %d: served certificate does not verify: %v", day, err)
		}
	}
	if certsIn(bundle) != 2 {
		t.Fatalf("bundle holds %d CAs during the rotation, want the old and the new", certsIn(bundle))
	}
	if err := verifies(served(t, m), bundle, "airlock.airlock-system.svc", clk.t); err != nil {
		t.Fatalf("during propagation the served certificate does not verify: %v", err)
	}
	// The leaf stays signed by the old CA until the new CA has propagated.
	if served(t, m).SerialNumber.Cmp(oldLeaf.SerialNumber) != 0 {
		t.Fatal("the serving certificate moved to the new CA before the bundle propagated")
	}
	clk.t = clk.t.Add(3 * time.Minute)
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	newLeaf := served(t, m)
	if newLeaf.SerialNumber.Cmp(oldLeaf.SerialNumber) == 0 {
		t.Fatal("the serving certificate was not reissued after the propagation delay")
	}
	bundle = (*published)[len(*published)-1]
	for _, leaf := range []*x509.Certificate{oldLeaf, newLeaf} {
		if err := verifies(leaf, bundle, "airlock.airlock-system.svc", clk.t); err != nil {
			t.Errorf("certificate %s does not verify against the bundle: %v", leaf.SerialNumber, err)
		}
	}
}

func TestForcedRotationAndRepair(t *testing.T) {
	m, _, _ := newTestManager(t)
	ctx := context.Background()
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	first := served(t, m)
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if served(t, m).SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("Rotate kept the certificate")
	}
	s := secret(t, m)
	s.Data[KeyTLSCert] = []byte("garbage")
	if err := m.Client.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sync(ctx); err != nil {
		t.Fatalf("a corrupt secret was not repaired: %v", err)
	}
	m.DNSNames = append(m.DNSNames, "airlock.airlock-system.svc.cluster.local")
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := served(t, m).DNSNames; len(got) != 2 {
		t.Errorf("a new name was not added to the certificate: %v", got)
	}
}
