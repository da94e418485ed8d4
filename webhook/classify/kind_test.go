package classify

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestDetectKind(t *testing.T) {
	image := func(cfg v1.Config) *Artifact {
		return &Artifact{ConfigMediaType: "application/vnd.oci.image.config.v1+json",
			LayerMediaTypes: []string{"application/vnd.oci.image.layer.v1.tar+gzip"}, Config: &cfg}
	}
	cases := []struct {
		name string
		repo string
		art  *Artifact
		want Kind
	}{
		{"modelpack artifactType", "ghcr.io/acme/llama", &Artifact{ArtifactType: "application/vnd.cncf.model.manifest.v1+json"}, KindModel},
		{"modelpack config", "ghcr.io/acme/llama", &Artifact{ConfigMediaType: "application/vnd.cncf.model.config.v1+json"}, KindModel},
		{"cnai legacy layer", "ghcr.io/acme/llama", &Artifact{LayerMediaTypes: []string{"application/vnd.cnai.model.weight.v1.tar"}}, KindModel},
		{"kitops config", "jozu.ml/acme/m", &Artifact{ConfigMediaType: "application/vnd.kitops.modelkit.config.v1+json"}, KindModel},
		{"docker ai layer", "index.docker.io/ai/smollm2", &Artifact{ConfigMediaType: "application/json", LayerMediaTypes: []string{"application/vnd.docker.ai.gguf.v3"}}, KindModel},
		{"vllm repository", "index.docker.io/vllm/vllm-openai", image(v1.Config{}), KindModelServer},
		{"tgi repository", "ghcr.io/huggingface/text-generation-inference", image(v1.Config{}), KindModelServer},
		{"triton repository", "nvcr.io/nvidia/tritonserver", image(v1.Config{}), KindModelServer},
		{"ollama repository", "index.docker.io/ollama/ollama", image(v1.Config{}), KindModelServer},
		{"kserve runtime", "index.docker.io/kserve/huggingfaceserver", image(v1.Config{}), KindModelServer},
		{"mirrored vllm", "registry.internal/mirror/vllm-openai", image(v1.Config{}), KindModelServer},
		{"python -m vllm", "ghcr.io/acme/chat", image(v1.Config{Entrypoint: []string{"python3", "-m", "vllm.entrypoints.openai.api_server"}}), KindModelServer},
		{"llama-server path", "ghcr.io/acme/chat", image(v1.Config{Entrypoint: []string{"/app/llama-server"}}), KindModelServer},
		{"shell-form ollama", "ghcr.io/acme/chat", image(v1.Config{Cmd: []string{"/bin/sh -c ollama serve"}}), KindModelServer},
		{"source label", "ghcr.io/acme/chat", image(v1.Config{Labels: map[string]string{"org.opencontainers.image.source": "https://github.com/sgl-project/sglang"}}), KindModelServer},
		{"explicit label true", "ghcr.io/acme/chat", image(v1.Config{Labels: map[string]string{ModelServerLabel: "true"}}), KindModelServer},
		{"explicit label false beats repository", "index.docker.io/vllm/vllm-openai", image(v1.Config{Labels: map[string]string{ModelServerLabel: "false"}}), KindContainer},
		{"plain nginx", "index.docker.io/library/nginx", image(v1.Config{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}}), KindContainer},
		{"python app", "ghcr.io/acme/api", image(v1.Config{Cmd: []string{"python", "-m", "uvicorn", "app:main"}}), KindContainer},
		{"vllm-ish name is not enough", "ghcr.io/acme/vllm-openai-client-docs", image(v1.Config{}), KindContainer},
		{"no config", "ghcr.io/acme/blob", &Artifact{ConfigMediaType: "application/vnd.oci.empty.v1+json"}, KindContainer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := DetectKind(c.repo, c.art)
			if got != c.want {
				t.Fatalf("DetectKind(%s) = %s (%s), want %s", c.repo, got, why, c.want)
			}
			if got != KindContainer && why == "" {
				t.Errorf("kind %s without a reason", got)
			}
		})
	}
}
