package testregistry

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image describes a container image to push.
type Image struct {
	Entrypoint []string
	Cmd        []string
	Labels     map[string]string
}

// PushImage pushes a small random container image with the given config to repo:tag and returns
// its digest reference.
func (r *Registry) PushImage(repo, tag string, img Image) (name.Digest, error) {
	base, err := random.Image(256, 1)
	if err != nil {
		return name.Digest{}, err
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return name.Digest{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Labels = img.Entrypoint, img.Cmd, img.Labels
	out, err := mutate.ConfigFile(base, cf)
	if err != nil {
		return name.Digest{}, err
	}
	return r.push(repo, tag, out)
}

func (r *Registry) push(repo, tag string, img v1.Image) (name.Digest, error) {
	ref, err := name.ParseReference(r.Ref(repo, ":"+tag))
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(ref, img, r.RemoteOptions()...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return ref.Context().Digest(d.String()), nil
}

// ModelFormat is a packaging format of AI model artifacts.
type ModelFormat string

// Model formats, each pushed with the media types its tools write.
const (
	// ModelPack: CNCF ModelPack, with artifactType and config and layer media types.
	ModelPack ModelFormat = "modelpack"
	// KitOps: a KitOps ModelKit, recognised by its config media type.
	KitOps ModelFormat = "kitops"
	// DockerAI: a Docker Model Runner model, recognised by its GGUF layer media type (its config
	// is plain JSON in older versions).
	DockerAI ModelFormat = "docker-ai"
)

type modelMediaTypes struct {
	artifactType, config, layer string
}

var modelFormats = map[ModelFormat]modelMediaTypes{
	ModelPack: {"application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json", "application/vnd.cncf.model.weight.v1.raw"},
	KitOps:    {"", "application/vnd.kitops.modelkit.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"},
	DockerAI:  {"", "application/json", "application/vnd.docker.ai.gguf.v3"},
}

// PushModel pushes a small model artifact in the given format to repo:tag. Its "weights" layer
// starts with a GGUF header, as real ones do.
func (r *Registry) PushModel(repo, tag string, f ModelFormat) (name.Digest, error) {
	mt, ok := modelFormats[f]
	if !ok {
		return name.Digest{}, fmt.Errorf("unknown model format %q", f)
	}
	cfg := static.NewLayer([]byte(`{"descriptor":{"name":"tiny"},"config":{"format":"gguf"}}`), types.MediaType(mt.config))
	weights := static.NewLayer(append([]byte("GGUF\x03\x00\x00\x00"), make([]byte, 512)...), types.MediaType(mt.layer))
	ref, err := name.ParseReference(r.Ref(repo, ":"+tag))
	if err != nil {
		return name.Digest{}, err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: mt.artifactType}
	for i, l := range []v1.Layer{cfg, weights} {
		if err := remote.WriteLayer(ref.Context(), l, r.RemoteOptions()...); err != nil {
			return name.Digest{}, fmt.Errorf("pushing a blob of %s: %w", ref, err)
		}
		d, _ := l.Digest()
		size, _ := l.Size()
		lmt, _ := l.MediaType()
		desc := v1.Descriptor{MediaType: lmt, Digest: d, Size: size}
		if i == 0 {
			m.Config = desc
		} else {
			m.Layers = append(m.Layers, desc)
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Put(ref, rawManifest(raw), r.RemoteOptions()...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing the manifest of %s: %w", ref, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return name.Digest{}, err
	}
	return ref.Context().Digest(h.String()), nil
}

// rawManifest is a manifest pushed as written, so fields go-containerregistry's builders do not
// set (artifactType) reach the registry.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
