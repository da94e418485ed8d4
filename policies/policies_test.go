// Package policies holds the sample AirlockPolicies; this test keeps them loadable and valid.
package policies

import (
	"path/filepath"
	"testing"

	"github.com/airlock-dev/airlock/policy"
)

func TestSamplePoliciesAreValid(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample policies found: %v", err)
	}
	for _, f := range files {
		ps, err := policy.LoadFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, p := range ps {
			if errs := p.Validate(); len(errs) > 0 {
				t.Errorf("%s: policy %s: %v", f, p.Name, errs.ToAggregate())
			}
		}
	}
}
