package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// LoadFile reads the AirlockPolicies of a YAML or JSON file (several documents separated by
// "---" are allowed). Documents of other kinds are an error, so a typo in `kind` is not silently
// ignored.
func LoadFile(path string) ([]v1alpha1.AirlockPolicy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	ps, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// Decode reads the AirlockPolicies of a YAML or JSON stream. Unknown fields are an error: a
// misspelt field in a security policy must not be ignored.
func Decode(b []byte) ([]v1alpha1.AirlockPolicy, error) {
	var out []v1alpha1.AirlockPolicy
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || isComment(doc) {
			continue
		}
		var p v1alpha1.AirlockPolicy
		if err := yaml.UnmarshalStrict(doc, &p); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if p.APIVersion != v1alpha1.GroupVersion.String() || p.Kind != "AirlockPolicy" {
			return nil, fmt.Errorf("document %d is %s %s, want apiVersion %s, kind AirlockPolicy", i+1, p.APIVersion, p.Kind, v1alpha1.GroupVersion)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no AirlockPolicy found")
	}
	return out, nil
}

// isComment reports whether a document holds only comments.
func isComment(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}
