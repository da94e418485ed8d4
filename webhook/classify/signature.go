package classify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// Authority is a compiled signing authority: a name for messages and the cosign options that check
// a signature against it.
type Authority struct {
	Name string
	// CheckOpts carry the key or the trust root and identity; their registry options are unused,
	// the Verifier brings its own.
	CheckOpts *cosign.CheckOpts
}

// Verifier checks the cosign signatures of one digest against a list of authorities.
type Verifier interface {
	// Verify returns the status and, when verified, the name of the authority that verified it.
	// Errors are registry failures (UnavailableError for outages); a bad signature is a status.
	Verify(ctx context.Context, digest name.Digest, authorities []Authority) (SignatureStatus, string, error)
}

// CosignVerifier fetches an image's cosign signatures (the sha256-<digest>.sig tag) once and checks
// every signature against every authority with cosign's own verification code.
type CosignVerifier struct {
	// Options are passed to every registry call.
	Options []remote.Option
}

// Verify implements Verifier.
func (cv CosignVerifier) Verify(ctx context.Context, digest name.Digest, authorities []Authority) (SignatureStatus, string, error) {
	ropts := ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, cv.Options...)...)
	tag, err := ociremote.SignatureTag(digest, ropts)
	if err != nil {
		return "", "", fmt.Errorf("signature tag of %s: %w", digest, err)
	}
	sigs, err := ociremote.Signatures(tag, ropts)
	if err != nil {
		return "", "", registryError(digest, err)
	}
	list, err := sigs.Get()
	if err != nil {
		return "", "", registryError(digest, err)
	}
	if len(list) == 0 {
		return SignatureUnsigned, "", nil
	}
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return "", "", err
	}
	for _, a := range authorities {
		for _, sig := range list {
			// VerifyImageSignature checks the signature over the payload and, through the
			// claim verifier, that the payload names this very digest: a signature copied
			// from another image does not verify.
			if _, err := cosign.VerifyImageSignature(ctx, sig, h, a.CheckOpts); err == nil {
				return SignatureVerified, a.Name, nil
			} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return "", "", err
			}
		}
	}
	return SignatureInvalid, "", nil
}
