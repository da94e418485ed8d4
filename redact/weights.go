package redact

import (
	"bytes"
	"encoding/binary"
	"regexp"
)

// Model-weight detectors find the headers of model files in a body, so an upload of weights
// (model theft) can be blocked. They look for each format's magic, wherever it appears: a body may
// be multipart or base64-free binary.

// ModelWeights returns the detectors for GGUF, safetensors, PyTorch and ONNX files.
func ModelWeights() []*Detector {
	// Raw: binary headers are read as they are. Normalisation would fold or drop bytes that
	// happen to decode as soft hyphens, full-width or look-alike letters, and shift offsets.
	return []*Detector{
		{
			// GGUF: "GGUF", a little-endian uint32 version (1-3), then tensor and KV counts.
			ID: "gguf-header", Type: "model_weights", Risk: RiskCritical, Raw: true, MaxLen: 8,
			Pattern:        regexp.MustCompile(`GGUF[\x01-\x03]\x00\x00\x00`),
			TruePositives:  []string{"GGUF\x03\x00\x00\x00\x2a\x00\x00\x00"},
			FalsePositives: []string{"GGUF is a file format", "GGUF\x07\x00\x00\x00"},
		},
		{
			// safetensors: a little-endian uint64 header length, then a JSON header naming
			// tensors with dtype, shape and data_offsets.
			ID: "safetensors-header", Type: "model_weights", Risk: RiskCritical, Raw: true, MaxLen: 200,
			// Every match holds the first tensor's dtype key: look for it before the pattern.
			Quick: func(t []byte, s int) bool {
				return s >= 8 && bytes.Contains(t[s:min(len(t), s+201)], []byte(`":{"dtype":"`))
			},
			Pattern: regexp.MustCompile(`\{"[^"]{1,128}":\{"dtype":"(?:F64|F32|F16|BF16|I64|I32|I16|I8|U8|BOOL|F8_E4M3|F8_E5M2)","shape":\[`),
			Validate: func(text []byte, s, e int) bool {
				if s < 8 {
					return false // the header is always preceded by its 8-byte length
				}
				n := binary.LittleEndian.Uint64(text[s-8 : s])
				return n > 0 && n < 100<<20
			},
			TruePositives: []string{"\x80\x00\x00\x00\x00\x00\x00\x00" + `{"model.embed.weight":{"dtype":"BF16","shape":[32000,4096],"data_offsets":[0,262144000]}}`,
				// A length whose bytes read as a soft hyphen (U+00AD), which normalisation drops.
				"\xc2\xad\x00\x00\x00\x00\x00\x00" + `{"model.embed.weight":{"dtype":"BF16","shape":[32000,4096],"data_offsets":[0,262144000]}}`},
			FalsePositives: []string{`{"name":{"dtype":"float","shape":[1]}}`},
		},
		{
			// PyTorch's zip format: a zip local file header whose file name ends in /data.pkl.
			ID: "pytorch-zip", Type: "model_weights", Risk: RiskCritical, Raw: true, MaxLen: 4,
			Literal: []byte("PK\x03\x04"),
			Validate: func(text []byte, s, e int) bool {
				if len(text) < s+30 {
					return false
				}
				n := int(binary.LittleEndian.Uint16(text[s+26 : s+28]))
				if n < len("data.pkl") || len(text) < s+30+n || s+30+n > e+Context {
					return false
				}
				return bytes.HasSuffix(text[s+30:s+30+n], []byte("data.pkl"))
			},
			TruePositives:  []string{"PK\x03\x04\x00\x00\x08\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00archive/data.pkl"},
			FalsePositives: []string{"PK\x03\x04\x00\x00\x08\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0b\x00\x00\x00photos/cat.jpg"},
		},
		{
			// Legacy PyTorch pickles start with a LONG1 opcode holding PyTorch's magic number.
			ID: "pytorch-pickle", Type: "model_weights", Risk: RiskCritical, Raw: true, MaxLen: 12,
			Literal:        []byte("\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"),
			TruePositives:  []string{"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02"},
			FalsePositives: []string{"\x80\x02}q\x00(X\x05\x00\x00\x00state"},
		},
		{
			// ONNX: a ModelProto whose ir_version (field 1) is followed by producer_name
			// (field 2) naming a known exporter.
			ID: "onnx-model", Type: "model_weights", Risk: RiskCritical, Raw: true, MaxLen: 40,
			Pattern:        regexp.MustCompile(`\x08[\x03-\x0b]\x12[\x04-\x20](?:pytorch|tf2onnx|onnxmltools|skl2onnx|keras2onnx|onnx-tensorflow|OnnxMLTools|onnxruntime)`),
			TruePositives:  []string{"\x08\x07\x12\x07pytorch\x1a\x052.1.0"},
			FalsePositives: []string{"exported with pytorch 2.1"},
		},
	}
}
