package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/webhook/certs"
)

// TestCertificateRotationWithoutFailedAdmission rotates the serving certificate repeatedly while
// admissions flow through the API server and fresh TLS handshakes verify against the CA bundle the
// API server was given: none may fail.
func TestCertificateRotationWithoutFailedAdmission(t *testing.T) {
	f := newAdmissionFixture(t)
	createPolicies(t, f.key, f.reg.Host)
	al := startAirlock(t, f.reg)
	ns := newNamespace(t, v1alpha1.ModeEnforce, nil)
	waitForWebhook(t, ns, f.untrusted)

	var sec corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: airlockNamespace, Name: "airlock-webhook-tls"}, &sec); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(sec.Data[certs.KeyCABundle]) {
		t.Fatal("no CA bundle in the secret")
	}
	addr := "127.0.0.1:" + strconv.Itoa(al.Port)

	ctx, stop := context.WithCancel(context.Background())
	var admitted, handshakes atomic.Int64
	var failures sync.Map
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				p := pod("rot-"+strconv.Itoa(w)+"-"+strconv.Itoa(i), f.signed)
				if err := createIn(context.Background(), k8s, ns, p, client.DryRunAll); err != nil {
					failures.Store("admission "+p.Name, err)
				} else {
					admitted.Add(1)
				}
			}
		})
	}
	serials := map[string]bool{}
	wg.Go(func() {
		for ctx.Err() == nil {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
			if err != nil {
				failures.Store("handshake "+time.Now().String(), err)
				continue
			}
			serials[conn.ConnectionState().PeerCertificates[0].SerialNumber.String()] = true
			conn.Close()
			handshakes.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	})
	for range 5 {
		time.Sleep(300 * time.Millisecond)
		if err := al.Certs.Rotate(context.Background()); err != nil {
			t.Error(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()

	failures.Range(func(k, v any) bool {
		t.Errorf("%s: %v", k, v)
		return true
	})
	if len(serials) < 5 {
		t.Errorf("handshakes saw %d distinct certificates over 5 rotations, want at least 5", len(serials))
	}
	if admitted.Load() < 20 || handshakes.Load() < 20 {
		t.Errorf("too little traffic to mean anything: %d admissions, %d handshakes", admitted.Load(), handshakes.Load())
	}
	t.Logf("%d admissions and %d verified handshakes across 5 rotations (%d certificates seen)", admitted.Load(), handshakes.Load(), len(serials))
}
