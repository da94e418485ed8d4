package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImagePolicy decides which images may run. Each image is classified along four axes (registry,
// signature, kind, pinning); Actions maps each finding to allow, deny or quarantine, and the strictest
// action of all findings is the image's verdict (deny > quarantine > allow).
type ImagePolicy struct {
	// TrustedRegistries are globs matched against an image's repository, registry host included
	// (for example "ghcr.io/acme/*" or "registry.internal:5000/**"). "*" matches within one path
	// segment, "**" any number of segments. Docker Hub is "docker.io" ("nginx" is
	// "docker.io/library/nginx"). Omitted or empty, no registry is trusted.
	// +optional
	// +listType=set
	TrustedRegistries []string `json:"trustedRegistries,omitempty"`

	// Authorities are the signers the policy trusts. An image is "verified" when a cosign signature of
	// its digest verifies against any one of them, "invalid" when it carries signatures but none
	// verifies, and "unsigned" when it carries none. Omitted, no signature can verify.
	// +optional
	// +listType=map
	// +listMapKey=name
	Authorities []Authority `json:"authorities,omitempty"`

	// Actions says what each finding leads to. Omitted fields take the defaults documented on each.
	// +optional
	Actions ImageActions `json:"actions,omitempty"`

	// FailureMode says what happens when the registry cannot be reached and no fresh verdict is
	// cached: "closed" denies (the default), "open" admits with a warning. A cached verdict younger
	// than CacheTTL is always used instead.
	// +optional
	// +kubebuilder:default=closed
	FailureMode FailureMode `json:"failureMode,omitempty"`

	// CacheTTL is how long a classification (digest resolution, signature check) is reused, positive
	// or negative. Omitted, 10m. Verification is keyed by digest, so only tag resolution can go stale.
	// +optional
	CacheTTL *metav1.Duration `json:"cacheTTL,omitempty"`

	// InsecureRegistries are registry hosts ("host:port") reached over plain HTTP, for local and
	// air-gapped mirrors. Omitted, every registry is reached over HTTPS.
	// +optional
	// +listType=set
	InsecureRegistries []string `json:"insecureRegistries,omitempty"`
}

// ImageActions maps each finding of image classification to an action.
type ImageActions struct {
	// UntrustedRegistry applies to an image whose repository no TrustedRegistries glob matches.
	// Omitted, deny.
	// +optional
	// +kubebuilder:default=deny
	UntrustedRegistry Action `json:"untrustedRegistry,omitempty"`

	// Unsigned applies to an image without any cosign signature. Omitted, deny.
	// +optional
	// +kubebuilder:default=deny
	Unsigned Action `json:"unsigned,omitempty"`

	// InvalidSignature applies to an image whose signatures verify against no authority.
	// Omitted, deny.
	// +optional
	// +kubebuilder:default=deny
	InvalidSignature Action `json:"invalidSignature,omitempty"`

	// Unpinned applies to an image referenced by tag rather than by digest. Omitted, allow: the
	// digest is resolved and verified either way, and GitOps tools often deploy tags.
	// +optional
	// +kubebuilder:default=allow
	Unpinned Action `json:"unpinned,omitempty"`

	// Model applies to AI model artifacts (ModelPack, KitOps, Docker AI media types). Omitted,
	// quarantine: model weights may run, but only behind the egress proxy.
	// +optional
	// +kubebuilder:default=quarantine
	Model Action `json:"model,omitempty"`

	// ModelServer applies to model-serving images (vLLM, TGI, Triton, Ollama, llama.cpp, KServe
	// runtimes and the like). Omitted, quarantine.
	// +optional
	// +kubebuilder:default=quarantine
	ModelServer Action `json:"modelServer,omitempty"`
}

// Action is what a finding leads to.
// +kubebuilder:validation:Enum=allow;deny;quarantine
type Action string

// Actions, from the most permissive to the strictest.
const (
	ActionAllow      Action = "allow"
	ActionQuarantine Action = "quarantine"
	ActionDeny       Action = "deny"
)

// FailureMode says what to do when a decision cannot be made because a dependency is down.
// +kubebuilder:validation:Enum=open;closed
type FailureMode string

// Failure modes.
const (
	FailOpen   FailureMode = "open"
	FailClosed FailureMode = "closed"
)

// Authority is one trusted signer: a static cosign public key, or a keyless (Fulcio) identity.
// Exactly one of Key and Keyless is set.
type Authority struct {
	// Name identifies the authority in verdicts ("signedBy") and messages.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Key trusts signatures made with one static key (cosign generate-key-pair, a KMS key exported
	// as PEM).
	// +optional
	Key *KeyAuthority `json:"key,omitempty"`

	// Keyless trusts Fulcio certificates issued to an OIDC identity, checked against a trust root
	// that the policy carries, so verification works without the internet.
	// +optional
	Keyless *KeylessAuthority `json:"keyless,omitempty"`
}

// KeyAuthority is a static public key. Exactly one of PublicKey and SecretRef is set.
type KeyAuthority struct {
	// PublicKey is the PEM-encoded public key ("-----BEGIN PUBLIC KEY-----"), as cosign.pub.
	// +optional
	PublicKey string `json:"publicKey,omitempty"`

	// SecretRef names a Secret key holding the PEM public key.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// KeylessAuthority trusts certificates issued by Fulcio (or a private Fulcio) to one identity.
type KeylessAuthority struct {
	// Issuer is the OIDC issuer the certificate must name, matched exactly
	// (for example "https://token.actions.githubusercontent.com").
	// +kubebuilder:validation:MinLength=1
	Issuer string `json:"issuer"`

	// SubjectRegExp is a Go regular expression the certificate's subject (email or URI) must match
	// in full (for example "^https://github.com/acme/.+/.github/workflows/release.yaml@refs/tags/.*$").
	// +kubebuilder:validation:MinLength=1
	SubjectRegExp string `json:"subjectRegExp"`

	// TrustRoot holds the Sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys, TSAs)
	// to verify against.
	TrustRoot TrustRoot `json:"trustRoot"`

	// IgnoreTransparencyLog skips the Rekor inclusion proof; set it only for private
	// deployments without a transparency log. Omitted, false: a Rekor bundle must verify offline.
	// +optional
	IgnoreTransparencyLog bool `json:"ignoreTransparencyLog,omitempty"`

	// IgnoreSCT skips the certificate-transparency check of the Fulcio certificate. Omitted, false.
	// +optional
	IgnoreSCT bool `json:"ignoreSCT,omitempty"`
}

// TrustRoot is a Sigstore trusted_root.json, inline or in a Secret. Exactly one field is set.
type TrustRoot struct {
	// JSON is the trusted_root.json document itself.
	// +optional
	JSON string `json:"json,omitempty"`

	// SecretRef names a Secret key holding the trusted_root.json document.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// SecretKeySelector names one key of a Secret. The policy is cluster-scoped, so the namespace is
// explicit.
type SecretKeySelector struct {
	// Namespace of the Secret.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key inside the Secret's data.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}
