package classify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Inspector resolves a reference to its digest and the metadata that classification needs.
type Inspector interface {
	Inspect(ctx context.Context, ref name.Reference) (*Artifact, error)
}

// RemoteInspector asks the registry with go-containerregistry. One manifest request resolves the
// reference; an image config is fetched only for container images (one blob request), since model
// artifacts are recognised from media types alone.
type RemoteInspector struct {
	// Options are passed to every remote call (transport, authentication, user agent).
	Options []remote.Option
}

// Inspect implements Inspector.
func (ri RemoteInspector) Inspect(ctx context.Context, ref name.Reference) (*Artifact, error) {
	opts := append([]remote.Option{remote.WithContext(ctx)}, ri.Options...)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, registryError(ref, err)
	}
	a := &Artifact{Digest: desc.Digest, MediaType: string(desc.MediaType), ArtifactType: desc.ArtifactType}
	if desc.MediaType.IsIndex() {
		return a, ri.inspectIndex(ctx, ref, desc, a, opts)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("manifest of %s does not parse: %w", ref, err)
	}
	if err := ri.fill(ref, m, a, opts); err != nil {
		return nil, err
	}
	return a, nil
}

// fill records a manifest's media types and, for container images, its config.
func (ri RemoteInspector) fill(ref name.Reference, m *v1.Manifest, a *Artifact, opts []remote.Option) error {
	if a.ArtifactType == "" {
		a.ArtifactType = m.ArtifactType
	}
	a.ConfigMediaType = string(m.Config.MediaType)
	for _, l := range m.Layers {
		a.LayerMediaTypes = append(a.LayerMediaTypes, string(l.MediaType))
	}
	if m.Config.MediaType != types.OCIConfigJSON && m.Config.MediaType != types.DockerConfigJSON {
		return nil
	}
	layer, err := remote.Layer(ref.Context().Digest(m.Config.Digest.String()), opts...)
	if err != nil {
		return registryError(ref, err)
	}
	blob, err := layer.Uncompressed()
	if err != nil {
		return registryError(ref, err)
	}
	defer blob.Close()
	cf, err := v1.ParseConfigFile(blob)
	if err != nil {
		return registryError(ref, err)
	}
	a.Config = &cf.Config
	return nil
}

// inspectIndex classifies a multi-platform index by one of its images (linux/amd64 when present,
// else the first), since all platforms of one index are builds of one thing. The index's own
// digest stays the one that is verified and reported.
func (ri RemoteInspector) inspectIndex(ctx context.Context, ref name.Reference, desc *remote.Descriptor, a *Artifact, opts []remote.Option) error {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return fmt.Errorf("index of %s does not parse: %w", ref, err)
	}
	if a.ArtifactType == "" {
		a.ArtifactType = idx.ArtifactType
	}
	var pick *v1.Descriptor
	for i := range idx.Manifests {
		d := &idx.Manifests[i]
		a.LayerMediaTypes = append(a.LayerMediaTypes, d.ArtifactType)
		if pick == nil || (d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64") {
			pick = d
		}
	}
	if pick == nil || !pick.MediaType.IsImage() {
		return nil
	}
	child, err := remote.Get(ref.Context().Digest(pick.Digest.String()), opts...)
	if err != nil {
		return registryError(ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(child.Manifest))
	if err != nil {
		return fmt.Errorf("manifest %s of %s does not parse: %w", pick.Digest, ref, err)
	}
	return ri.fill(ref, m, a, opts)
}

// registryError sorts an error from the registry into an outage (UnavailableError, which callers
// answer with the policy's failure mode) or a property of the image (not found, unauthorized).
func registryError(ref name.Reference, err error) error {
	if isUnavailable(err) {
		return &UnavailableError{Image: ref.String(), Err: err}
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("image %s not found in its registry: check the name and tag: %w", ref, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("registry refused access to %s: give Airlock pull credentials for it: %w", ref, err)
		}
	}
	return fmt.Errorf("inspecting %s: %w", ref, err)
}

func isUnavailable(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return true
	}
	var operr *net.OpError
	return errors.As(err, &operr) || errors.Is(err, context.DeadlineExceeded)
}
