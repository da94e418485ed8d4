package classify

import (
	"errors"
	"fmt"
)

// RegistryTrust says whether an image's repository is trusted by the policy.
type RegistryTrust string

// Registry trust values.
const (
	RegistryTrusted   RegistryTrust = "trusted"
	RegistryUntrusted RegistryTrust = "untrusted"
)

// SignatureStatus is the outcome of cosign verification of an image's digest.
type SignatureStatus string

// Signature outcomes.
const (
	// SignatureVerified: a signature verified against one of the policy's authorities.
	SignatureVerified SignatureStatus = "verified"
	// SignatureUnsigned: the image carries no cosign signature at all.
	SignatureUnsigned SignatureStatus = "unsigned"
	// SignatureInvalid: the image carries signatures, but none verifies against any authority.
	SignatureInvalid SignatureStatus = "invalid"
)

// Kind is what an image is for.
type Kind string

// Kinds.
const (
	// KindModel is an AI model artifact (ModelPack, KitOps, Docker AI media types).
	KindModel Kind = "model"
	// KindModelServer is an image that serves models (vLLM, TGI, Triton, Ollama, ...).
	KindModelServer Kind = "model-server"
	// KindContainer is any other image.
	KindContainer Kind = "container"
)

// Result is the classification of one image reference. It holds no verdict: Decide applies a policy.
type Result struct {
	// Image is the reference as written in the workload; it is never rewritten.
	Image string `json:"image"`
	// Repository is the normalised repository, registry host included (docker.io/library/nginx).
	Repository string `json:"repository"`
	// Digest is the resolved manifest digest ("sha256:...").
	Digest    string          `json:"digest"`
	Registry  RegistryTrust   `json:"registry"`
	Signature SignatureStatus `json:"signature"`
	// SignedBy names the authority whose key or identity verified the signature.
	SignedBy string `json:"signedBy,omitempty"`
	Kind     Kind   `json:"kind"`
	// KindReason says which heuristic decided the kind, for messages ("config media type ...").
	KindReason string `json:"kindReason,omitempty"`
	Pinned     bool   `json:"pinned"`
}

// ErrRegistryUnavailable is matched (errors.Is) by every error that means the registry could not be
// asked: connection refused, timeouts, 5xx and 429 answers. It is not returned for an image that
// the registry says does not exist, which is a property of the image, not an outage.
var ErrRegistryUnavailable = errors.New("registry unavailable")

// UnavailableError reports a registry that could not be reached for one image.
type UnavailableError struct {
	Image string
	Err   error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("registry unavailable for %s: %v", e.Image, e.Err)
}

// Unwrap returns the transport error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRegistryUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrRegistryUnavailable }
