// Package certs keeps the webhook's TLS serving certificate: a self-managed CA and a serving
// certificate, stored in a Secret so every replica serves the same one, renewed well before they
// expire, and swapped in memory without restarting the server, so no admission fails while a
// certificate rotates. The CA bundle is handed to a callback that patches the webhook
// configurations.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// Keys of the Secret.
const (
	KeyCACert      = "ca.crt"
	KeyCAKey       = "ca.key"
	KeyCABundle    = "ca-bundle.crt" // the current CA and, during a CA rotation, the previous one
	KeyTLSCert     = "tls.crt"
	KeyTLSKey      = "tls.key"
	keyPublishedAt = "ca-published-at"
)

// bundle is the Secret's content, parsed.
type bundle struct {
	caCert    *x509.Certificate
	caKey     *ecdsa.PrivateKey
	caBundle  []byte
	leaf      *x509.Certificate
	tlsCert   tls.Certificate
	publishAt time.Time // when the current CA entered the bundle
}

func newCA(now time.Time, validity time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "airlock-webhook-ca", Organization: []string{"airlock.dev"}},
		NotBefore:             now.Add(-5 * time.Minute), // tolerate clock skew
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newLeaf(now time.Time, validity time.Duration, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dnsNames []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	cn := "airlock-webhook"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the platform is broken; nothing is safe
	}
	return n
}

// parse reads the Secret's data; an error means it must be regenerated.
func parse(data map[string][]byte) (*bundle, error) {
	b := &bundle{caBundle: data[KeyCABundle]}
	var err error
	if b.caCert, err = parseCert(data[KeyCACert]); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyCACert, err)
	}
	block, _ := pem.Decode(data[KeyCAKey])
	if block == nil {
		return nil, errors.New(KeyCAKey + ": not PEM")
	}
	if b.caKey, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyCAKey, err)
	}
	if b.tlsCert, err = tls.X509KeyPair(data[KeyTLSCert], data[KeyTLSKey]); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyTLSCert, err)
	}
	if b.leaf, err = x509.ParseCertificate(b.tlsCert.Certificate[0]); err != nil {
		return nil, err
	}
	b.tlsCert.Leaf = b.leaf
	if t, err := time.Parse(time.RFC3339, string(data[keyPublishedAt])); err == nil {
		b.publishAt = t
	}
	if len(b.caBundle) == 0 {
		b.caBundle = data[KeyCACert]
	}
	return b, nil
}

func parseCert(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func encodeCA(cert *x509.Certificate, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// leafSignedBy reports whether the leaf verifies against the CA for all the names it must serve.
func leafSignedBy(leaf, ca *x509.Certificate, dnsNames []string, ips []net.IP) bool {
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return false
	}
	for _, n := range dnsNames {
		if !slices.Contains(leaf.DNSNames, n) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// appendCert adds a PEM certificate to a bundle unless it is already there.
func appendCert(bundle, certPEM []byte) []byte {
	if bytes.Contains(bundle, bytes.TrimSpace(certPEM)) {
		return bundle
	}
	return append(append(bytes.TrimSpace(bundle), '\n'), certPEM...)
}

// pruneBundle drops expired certificates from a PEM bundle.
func pruneBundle(bundle []byte, now time.Time) []byte {
	var out []byte
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil && now.Before(c.NotAfter) {
			out = append(out, pem.EncodeToMemory(block)...)
		}
	}
}
