package testregistry

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Key is a cosign key pair, as `cosign generate-key-pair` makes one.
type Key struct {
	// PublicPEM is the public key as cosign.pub holds it.
	PublicPEM []byte
	signer    signature.SignerVerifier
}

// NewKey generates a cosign key pair with cosign's own code.
func NewKey() (*Key, error) {
	pass := []byte("airlock-test")
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return pass, nil })
	if err != nil {
		return nil, fmt.Errorf("generating a cosign key pair: %w", err)
	}
	sv, err := cosign.LoadPrivateKey(kb.PrivateBytes, pass, nil)
	if err != nil {
		return nil, fmt.Errorf("loading the cosign private key: %w", err)
	}
	return &Key{PublicPEM: kb.PublicBytes, signer: sv}, nil
}

// Sign signs the digest with key the way `cosign sign --key` does without a transparency log: it
// signs cosign's simple-signing payload for the digest and attaches the signature under the
// sha256-<hex>.sig tag.
func (r *Registry) Sign(d name.Digest, key *Key) error {
	return r.sign(d, key.signer)
}

func (r *Registry) sign(d name.Digest, signer signature.Signer, sigOpts ...static.Option) error {
	body, err := payload.Cosign{Image: d}.MarshalJSON()
	if err != nil {
		return err
	}
	raw, err := signer.SignMessage(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("signing %s: %w", d, err)
	}
	sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw), sigOpts...)
	if err != nil {
		return err
	}
	opts := ociremote.WithRemoteOptions(r.RemoteOptions()...)
	se, err := ociremote.SignedEntity(d, opts)
	if err != nil {
		return fmt.Errorf("reading %s to sign it: %w", d, err)
	}
	se, err = mutate.AttachSignatureToEntity(se, sig)
	if err != nil {
		return err
	}
	if err := ociremote.WriteSignatures(d.Repository, se, opts); err != nil {
		return fmt.Errorf("writing the signature of %s: %w", d, err)
	}
	return nil
}

// CopySignature copies the signatures of one image to another's signature tag, as an attacker
// would to borrow a trusted signature: the signed payload still names the first digest.
func (r *Registry) CopySignature(from, to name.Digest) error {
	opts := ociremote.WithRemoteOptions(r.RemoteOptions()...)
	src, err := ociremote.SignatureTag(from, opts)
	if err != nil {
		return err
	}
	dst, err := ociremote.SignatureTag(to, opts)
	if err != nil {
		return err
	}
	img, err := remote.Image(src, r.RemoteOptions()...)
	if err != nil {
		return err
	}
	return remote.Write(dst, img, r.RemoteOptions()...)
}
