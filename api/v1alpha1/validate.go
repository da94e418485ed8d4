package v1alpha1

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks what the CRD schema cannot: globs, regular expressions, PEM keys, and the
// exactly-one-of rules. Every error names its field path, so `kubectl describe` tells the user which
// line to fix. Key material in Secrets and trust roots are checked when the policy is compiled.
func (p *AirlockPolicy) Validate() field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if p.Spec.NamespaceSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(p.Spec.NamespaceSelector); err != nil {
			errs = append(errs, field.Invalid(spec.Child("namespaceSelector"), p.Spec.NamespaceSelector, err.Error()))
		}
	}
	errs = append(errs, p.Spec.Images.Validate(spec.Child("images"))...)
	seen := map[string]bool{}
	for i := range p.Spec.RateLimits {
		rl := &p.Spec.RateLimits[i]
		f := spec.Child("rateLimits").Index(i)
		if seen[rl.Name] {
			errs = append(errs, field.Duplicate(f.Child("name"), rl.Name))
		}
		seen[rl.Name] = true
		errs = append(errs, rl.Validate(f)...)
	}
	for i, sa := range p.Spec.Quarantine.Admins.ServiceAccounts {
		if ns, name, ok := strings.Cut(sa, "/"); !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			errs = append(errs, field.Invalid(spec.Child("quarantine", "admins", "serviceAccounts").Index(i), sa, "write namespace/name, as in ci/release-bot"))
		}
	}
	return errs
}

// Validate checks an ImagePolicy; fld is its path in the enclosing object.
func (ip *ImagePolicy) Validate(fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range ip.TrustedRegistries {
		if err := ValidateRegistryGlob(g); err != nil {
			errs = append(errs, field.Invalid(fld.Child("trustedRegistries").Index(i), g, err.Error()))
		}
	}
	seen := map[string]bool{}
	for i := range ip.Authorities {
		a := &ip.Authorities[i]
		af := fld.Child("authorities").Index(i)
		if seen[a.Name] {
			errs = append(errs, field.Duplicate(af.Child("name"), a.Name))
		}
		seen[a.Name] = true
		errs = append(errs, a.Validate(af)...)
	}
	as := ip.Actions
	for name, a := range map[string]Action{
		"untrustedRegistry": as.UntrustedRegistry, "unsigned": as.Unsigned, "invalidSignature": as.InvalidSignature,
		"unpinned": as.Unpinned, "model": as.Model, "modelServer": as.ModelServer,
	} {
		switch a {
		case "", ActionAllow, ActionDeny, ActionQuarantine:
		default:
			errs = append(errs, field.NotSupported(fld.Child("actions", name), a, []string{"allow", "deny", "quarantine"}))
		}
	}
	switch ip.FailureMode {
	case "", FailOpen, FailClosed:
	default:
		errs = append(errs, field.NotSupported(fld.Child("failureMode"), ip.FailureMode, []string{"open", "closed"}))
	}
	if ip.CacheTTL != nil && ip.CacheTTL.Duration < 0 {
		errs = append(errs, field.Invalid(fld.Child("cacheTTL"), ip.CacheTTL.Duration.String(), "must not be negative; use 0 to disable caching"))
	}
	return errs
}

// Validate checks that an authority is exactly one of key and keyless, and that what it carries parses.
func (a *Authority) Validate(fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if a.Name == "" {
		errs = append(errs, field.Required(fld.Child("name"), "name the authority; verdicts report it as signedBy"))
	}
	switch {
	case a.Key == nil && a.Keyless == nil:
		errs = append(errs, field.Required(fld, "set exactly one of key and keyless"))
	case a.Key != nil && a.Keyless != nil:
		errs = append(errs, field.Forbidden(fld, "set exactly one of key and keyless, not both"))
	case a.Key != nil:
		kf := fld.Child("key")
		switch {
		case (a.Key.PublicKey == "") == (a.Key.SecretRef == nil):
			errs = append(errs, field.Required(kf, "set exactly one of publicKey and secretRef"))
		case a.Key.PublicKey != "":
			if err := ValidatePublicKeyPEM(a.Key.PublicKey); err != nil {
				// Public keys are not secret, but the message stays short: the error says what is wrong.
				errs = append(errs, field.Invalid(kf.Child("publicKey"), "<PEM>", err.Error()))
			}
		}
	case a.Keyless != nil:
		kf := fld.Child("keyless")
		if a.Keyless.Issuer == "" {
			errs = append(errs, field.Required(kf.Child("issuer"), "the OIDC issuer URL the certificate must name"))
		}
		if _, err := regexp.Compile(a.Keyless.SubjectRegExp); err != nil {
			errs = append(errs, field.Invalid(kf.Child("subjectRegExp"), a.Keyless.SubjectRegExp, "not a Go regular expression: "+err.Error()))
		} else if a.Keyless.SubjectRegExp == "" {
			errs = append(errs, field.Required(kf.Child("subjectRegExp"), "an empty expression would trust every identity of the issuer; use \".*\" if that is meant"))
		}
		tr := a.Keyless.TrustRoot
		if (tr.JSON == "") == (tr.SecretRef == nil) {
			errs = append(errs, field.Required(kf.Child("trustRoot"), "set exactly one of json and secretRef (a Sigstore trusted_root.json)"))
		}
	}
	return errs
}

// ValidateRegistryGlob checks a trustedRegistries glob: segments separated by "/", each a
// path.Match pattern or "**", and a registry host first.
func ValidateRegistryGlob(g string) error {
	if g == "" {
		return fmt.Errorf("empty glob; write a repository such as ghcr.io/acme/*")
	}
	if strings.Contains(g, "://") {
		return fmt.Errorf("write the repository without a scheme, as in ghcr.io/acme/*")
	}
	if strings.ContainsAny(g, "@") || strings.HasSuffix(g, ":") {
		return fmt.Errorf("a glob matches repositories, not tags or digests; drop the tag or digest")
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == "" {
			return fmt.Errorf("empty path segment (double or trailing slash)")
		}
		if seg == "**" {
			continue
		}
		if strings.Contains(seg, "**") {
			return fmt.Errorf("%q: ** must be a whole segment, as in ghcr.io/acme/**", seg)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("segment %q: %w", seg, err)
		}
	}
	return nil
}

// ValidatePublicKeyPEM checks that s holds one PEM "PUBLIC KEY" block that parses.
func ValidatePublicKeyPEM(s string) error {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return fmt.Errorf("not PEM: paste the whole cosign.pub, including the BEGIN and END lines")
	}
	if block.Type != "PUBLIC KEY" {
		return fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\" (never a private key)", block.Type)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return fmt.Errorf("public key does not parse: %w", err)
	}
	return nil
}

// rateLimitName is a limit's name: it appears in headers and Redis keys.
var rateLimitName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks a RateLimit; fld is its path in the enclosing object.
func (rl *RateLimit) Validate(fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !rateLimitName.MatchString(rl.Name) || len(rl.Name) > 63 {
		errs = append(errs, field.Invalid(fld.Child("name"), rl.Name, "use lower-case letters, digits and '-', as in openai-chat"))
	}
	if rl.Requests == nil && rl.Tokens == nil {
		errs = append(errs, field.Required(fld, "set requests, tokens or both: a limit without either meters nothing"))
	}
	for name, q := range map[string]*Quota{"requests": rl.Requests, "tokens": rl.Tokens} {
		if q == nil {
			continue
		}
		qf := fld.Child(name)
		if q.Amount < 1 {
			errs = append(errs, field.Invalid(qf.Child("amount"), q.Amount, "must be at least 1"))
		}
		if q.Per != nil && q.Per.Duration < time.Millisecond {
			errs = append(errs, field.Invalid(qf.Child("per"), q.Per.Duration.String(), "must be at least 1ms, as in 1m or 24h"))
		}
		if q.Burst < 0 {
			errs = append(errs, field.Invalid(qf.Child("burst"), q.Burst, "must not be negative (0 means amount)"))
		}
	}
	switch rl.FailureMode {
	case "", FailOpen, FailClosed:
	default:
		errs = append(errs, field.NotSupported(fld.Child("failureMode"), rl.FailureMode, []string{string(FailOpen), string(FailClosed)}))
	}
	for i, e := range rl.Endpoints {
		ef := fld.Child("endpoints").Index(i)
		h := strings.TrimPrefix(e.Host, "*.")
		if h == "" || strings.ContainsAny(h, "*/: ") {
			errs = append(errs, field.Invalid(ef.Child("host"), e.Host, "write a host without port or path, or *.domain for its subdomains"))
		}
		if e.PathPrefix != "" && !strings.HasPrefix(e.PathPrefix, "/") {
			errs = append(errs, field.Invalid(ef.Child("pathPrefix"), e.PathPrefix, "must start with /"))
		}
	}
	return errs
}
