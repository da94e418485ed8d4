package classify

import (
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Artifact is what the registry says about one resolved reference: enough to classify it, and no
// layer contents.
type Artifact struct {
	// Digest of the manifest (or index) the reference resolved to.
	Digest v1.Hash
	// MediaType of that manifest or index.
	MediaType string
	// ArtifactType is the manifest's or index's artifactType field (OCI 1.1), if any.
	ArtifactType string
	// ConfigMediaType is the config descriptor's media type.
	ConfigMediaType string
	// LayerMediaTypes are the media types of the layers (or, for an index, of its manifests'
	// artifact types).
	LayerMediaTypes []string
	// Config is the image configuration, when the config is a container image config. Model
	// artifacts have their own config formats and leave it nil.
	Config *v1.Config
}

// ModelMediaTypePrefixes are the media-type families of AI model artifacts. A manifest is a model
// when its artifactType, config or any layer has one of them: a model is often packaged with a
// plain config and typed layers, or the other way round.
var ModelMediaTypePrefixes = []string{
	"application/vnd.cncf.model.",      // CNCF ModelPack
	"application/vnd.cnai.model.",      // ModelPack before it moved to the CNCF
	"application/vnd.kitops.modelkit.", // KitOps ModelKit
	"application/vnd.docker.ai.",       // Docker Model Runner (Docker AI)
}

// ModelServerLabel, set on an image config to "true", declares an image a model server explicitly;
// "false" declares it is not one, overriding the heuristics.
const ModelServerLabel = "dev.airlock.model-server"

// modelServerRepositories are repositories of well-known model servers, as globs.
var modelServerRepositories = []string{
	"index.docker.io/vllm/**",                       // vLLM (vllm-openai, vllm-tpu, ...)
	"ghcr.io/huggingface/text-generation-inference", // TGI
	"ghcr.io/huggingface/text-embeddings-inference", // TEI
	"nvcr.io/nvidia/tritonserver",                   // Triton
	"nvcr.io/nim/**",                                // NVIDIA NIM
	"index.docker.io/ollama/ollama",                 // Ollama
	"ghcr.io/ggml-org/llama.cpp",                    // llama.cpp server
	"ghcr.io/ggerganov/llama.cpp",                   // llama.cpp, older home
	"index.docker.io/kserve/*server",                // KServe runtimes: huggingfaceserver, sklearnserver, xgbserver, ...
	"index.docker.io/kserve/*-server",               // and their dashed variants
	"index.docker.io/pytorch/torchserve",            // TorchServe
	"index.docker.io/tensorflow/serving",            // TensorFlow Serving
	"index.docker.io/seldonio/mlserver",             // MLServer
	"index.docker.io/lmsysorg/sglang",               // SGLang
	"index.docker.io/localai/localai",               // LocalAI
	"index.docker.io/openvino/model_server",         // OpenVINO Model Server
	"index.docker.io/ai/**",                         // Docker Model Runner images
	"quay.io/modh/vllm*",                            // Red Hat OpenShift AI vLLM builds
	"**/vllm-openai",                                // vLLM mirrored anywhere
	"**/text-generation-inference",                  // TGI mirrored anywhere
	"**/tritonserver",                               // Triton mirrored anywhere
}

// modelServerCommands are executable names (argv[0] or any argument's base name) of model servers.
var modelServerCommands = map[string]bool{
	"vllm": true, "text-generation-launcher": true, "text-generation-server": true,
	"text-embeddings-router": true, "tritonserver": true, "ollama": true, "llama-server": true,
	"torchserve": true, "tensorflow_model_server": true, "mlserver": true, "ovms": true,
	"local-ai": true, "trtllm-serve": true, "lmdeploy": true,
}

// modelServerModules are Python modules run with "python -m" by model servers.
var modelServerModules = []string{"vllm.", "sglang.", "kserve", "huggingfaceserver", "text_generation_server"}

// modelServerSources are project URLs model-server images name in org.opencontainers.image.source.
var modelServerSources = []string{
	"github.com/vllm-project/vllm", "github.com/huggingface/text-generation-inference",
	"github.com/huggingface/text-embeddings-inference", "github.com/triton-inference-server/",
	"github.com/ollama/ollama", "github.com/ggml-org/llama.cpp", "github.com/ggerganov/llama.cpp",
	"github.com/kserve/kserve", "github.com/sgl-project/sglang", "github.com/pytorch/serve",
	"github.com/seldonio/mlserver", "github.com/openvinotoolkit/model_server", "github.com/mudler/localai",
	"github.com/nvidia/tensorrt-llm",
}

// DetectKind decides whether an artifact is a model, a model server or a plain container, and says
// why. The checks, in order:
//
//  1. model: the artifactType, config media type or any layer media type is in a
//     ModelMediaTypePrefixes family;
//  2. an explicit ModelServerLabel on the image config ("true" or "false") decides;
//  3. model-server: the repository is a well-known model server's (vLLM, TGI, TEI, Triton, NIM,
//     Ollama, llama.cpp, KServe runtimes, TorchServe, TF Serving, MLServer, SGLang, LocalAI,
//     OpenVINO, Docker Model Runner), also when mirrored under the same final name;
//  4. model-server: the entrypoint or command runs a model server (vllm, text-generation-launcher,
//     tritonserver, ollama, llama-server, torchserve, ... or "python -m vllm.entrypoints...");
//  5. model-server: the org.opencontainers.image.source label names a model-server project;
//  6. otherwise container.
//
// Repository and command checks catch images rebuilt from a server's base; the label lets image
// authors correct a wrong guess either way.
func DetectKind(repository string, a *Artifact) (Kind, string) {
	for _, mt := range append([]string{a.ArtifactType, a.ConfigMediaType}, a.LayerMediaTypes...) {
		for _, p := range ModelMediaTypePrefixes {
			if strings.HasPrefix(mt, p) {
				return KindModel, "media type " + mt
			}
		}
	}
	var labels map[string]string
	if a.Config != nil {
		labels = a.Config.Labels
	}
	switch labels[ModelServerLabel] {
	case "true":
		return KindModelServer, "label " + ModelServerLabel + "=true"
	case "false":
		return KindContainer, "label " + ModelServerLabel + "=false"
	}
	for _, g := range modelServerRepositories {
		if MatchRepository(g, repository) {
			return KindModelServer, "well-known model-server repository " + repository
		}
	}
	if a.Config != nil {
		for _, arg := range append(append([]string{}, a.Config.Entrypoint...), a.Config.Cmd...) {
			for _, tok := range strings.Fields(arg) { // shell-form commands arrive as one string
				if modelServerCommands[path.Base(tok)] {
					return KindModelServer, "runs " + path.Base(tok)
				}
				for _, m := range modelServerModules {
					if strings.HasPrefix(tok, m) {
						return KindModelServer, "runs python module " + tok
					}
				}
			}
		}
	}
	if src := strings.ToLower(labels["org.opencontainers.image.source"]); src != "" {
		for _, s := range modelServerSources {
			if strings.Contains(src, s) {
				return KindModelServer, "image source " + s
			}
		}
	}
	return KindContainer, ""
}
