package classify

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// SecretReader returns the value of one key of a Secret. Policies name Secrets for keys and trust
// roots; the controller reads them with its client, `airlock scan` cannot and says so.
type SecretReader interface {
	SecretValue(ctx context.Context, ref v1alpha1.SecretKeySelector) ([]byte, error)
}

// Policy is an ImagePolicy compiled for use: defaults applied, keys and trust roots loaded.
// It is immutable and safe for concurrent use.
type Policy struct {
	// TrustedRegistries are the policy's globs, with Docker Hub spelled as go-containerregistry does.
	TrustedRegistries []string
	Authorities       []Authority
	Actions           v1alpha1.ImageActions
	FailureMode       v1alpha1.FailureMode
	CacheTTL          time.Duration
	// Insecure holds the registry hosts reached over plain HTTP.
	Insecure map[string]bool

	// fingerprint identifies the authorities, so cached signature results are never reused
	// across policies that trust different signers.
	fingerprint string
}

// Compile validates an ImagePolicy, applies its defaults and loads its keys and trust roots.
// Errors name the field to fix (spec.images.authorities[0].key.publicKey: ...). secrets may be nil
// when the policy names no Secret.
func Compile(ctx context.Context, in v1alpha1.ImagePolicy, secrets SecretReader) (*Policy, error) {
	fld := field.NewPath("spec", "images")
	if errs := in.Validate(fld); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	ip := *in.DeepCopy()
	ip.Default()
	p := &Policy{
		Actions:     ip.Actions,
		FailureMode: ip.FailureMode,
		CacheTTL:    ip.CacheTTL.Duration,
		Insecure:    map[string]bool{},
	}
	for _, g := range ip.TrustedRegistries {
		p.TrustedRegistries = append(p.TrustedRegistries, normaliseGlob(g))
	}
	for _, h := range ip.InsecureRegistries {
		p.Insecure[h] = true
	}
	fp := sha256.New()
	var errs field.ErrorList
	for i, a := range ip.Authorities {
		af := fld.Child("authorities").Index(i)
		co, material, err := compileAuthority(ctx, a, secrets)
		if err != nil {
			errs = append(errs, field.Invalid(af, a.Name, err.Error()))
			continue
		}
		p.Authorities = append(p.Authorities, Authority{Name: a.Name, CheckOpts: co})
		fmt.Fprintf(fp, "%s\x00%s\x00", a.Name, material)
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	p.fingerprint = hex.EncodeToString(fp.Sum(nil))
	return p, nil
}

// compileAuthority builds cosign's CheckOpts for one authority and returns the material it trusts,
// for the policy fingerprint.
func compileAuthority(ctx context.Context, a v1alpha1.Authority, secrets SecretReader) (*cosign.CheckOpts, string, error) {
	co := &cosign.CheckOpts{ClaimVerifier: cosign.SimpleClaimVerifier}
	if a.Key != nil {
		pemBytes := []byte(a.Key.PublicKey)
		if a.Key.SecretRef != nil {
			var err error
			if pemBytes, err = readSecret(ctx, secrets, *a.Key.SecretRef); err != nil {
				return nil, "", err
			}
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
		if err != nil {
			return nil, "", fmt.Errorf("public key does not parse: %w", err)
		}
		if co.SigVerifier, err = signature.LoadVerifier(pub, crypto.SHA256); err != nil {
			return nil, "", fmt.Errorf("public key cannot verify signatures: %w", err)
		}
		// Static keys carry no certificate to log; cosign's own `--insecure-ignore-tlog`
		// default for keys in air-gapped use.
		co.IgnoreTlog, co.IgnoreSCT = true, true
		return co, "key\x00" + string(pemBytes), nil
	}
	k := a.Keyless
	doc := []byte(k.TrustRoot.JSON)
	if k.TrustRoot.SecretRef != nil {
		var err error
		if doc, err = readSecret(ctx, secrets, *k.TrustRoot.SecretRef); err != nil {
			return nil, "", err
		}
	}
	tr, err := root.NewTrustedRootFromJSON(doc)
	if err != nil {
		return nil, "", fmt.Errorf("trustRoot is not a Sigstore trusted_root.json: %w", err)
	}
	if _, err := regexp.Compile(k.SubjectRegExp); err != nil {
		return nil, "", fmt.Errorf("subjectRegExp: %w", err)
	}
	co.TrustedMaterial = tr
	co.Identities = []cosign.Identity{{Issuer: k.Issuer, SubjectRegExp: k.SubjectRegExp}}
	co.IgnoreTlog, co.IgnoreSCT = k.IgnoreTransparencyLog, k.IgnoreSCT
	return co, fmt.Sprintf("keyless\x00%s\x00%s\x00%t%t\x00%s", k.Issuer, k.SubjectRegExp, k.IgnoreTransparencyLog, k.IgnoreSCT, doc), nil
}

func readSecret(ctx context.Context, secrets SecretReader, ref v1alpha1.SecretKeySelector) ([]byte, error) {
	if secrets == nil {
		return nil, fmt.Errorf("secret %s/%s cannot be read here: inline the value (publicKey or trustRoot.json) to use the policy outside a cluster", ref.Namespace, ref.Name)
	}
	b, err := secrets.SecretValue(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("reading key %q of secret %s/%s: %w", ref.Key, ref.Namespace, ref.Name, err)
	}
	return b, nil
}

// DefaultImagePolicy is the policy `airlock scan` applies without --policy: no registry is trusted
// and no signer is known, so every image is denied as untrusted and unsigned, while the report
// still shows each axis. It is the secure starting point; write a policy to allow what you trust.
func DefaultImagePolicy() v1alpha1.ImagePolicy {
	var ip v1alpha1.ImagePolicy
	ip.Default()
	return ip
}
