package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-dev/airlock/test/testregistry"
)

func TestScan(t *testing.T) {
	reg := testregistry.New()
	t.Cleanup(reg.Close)
	key, err := testregistry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	app, err := reg.PushImage("apps/web", "v1", testregistry.Image{Cmd: []string{"/web"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Sign(app, key); err != nil {
		t.Fatal(err)
	}
	model, err := reg.PushModel("models/llama", "q4", testregistry.ModelPack)
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	policyYAML := `apiVersion: airlock.dev/v1alpha1
kind: AirlockPolicy
metadata:
  name: scan-test
spec:
  images:
    trustedRegistries: ["` + reg.Host + `/**"]
    authorities:
    - name: release
      key:
        publicKey: |
` + indent(string(key.PublicPEM), "          ") + `
    actions:
      unsigned: quarantine
`
	if err := os.WriteFile(policyFile, []byte(policyYAML), 0o600); err != nil {
		t.Fatal(err)
	}

	scan := func(t *testing.T, o scanOptions, images ...string) (string, int) {
		t.Helper()
		o.remoteOptions = reg.RemoteOptions()
		var out bytes.Buffer
		err := runScan(context.Background(), &out, &o, images)
		code := 0
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else if err != nil {
			code = 1
		}
		return out.String(), code
	}

	t.Run("signed image from a trusted registry is allowed", func(t *testing.T) {
		out, code := scan(t, scanOptions{policyFile: policyFile, output: "json"}, reg.Ref("apps/web", ":v1"))
		var r map[string]any
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("not one JSON object: %v\n%s", err, out)
		}
		want := map[string]any{"image": reg.Ref("apps/web", ":v1"), "digest": app.DigestStr(), "registry": "trusted",
			"signature": "verified", "signedBy": "release", "kind": "container", "pinned": false, "verdict": "allow"}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %v, want %v", k, r[k], v)
			}
		}
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})

	t.Run("several images give an array and exit 4", func(t *testing.T) {
		out, code := scan(t, scanOptions{policyFile: policyFile, output: "json"}, app.String(), model.String())
		var rs []map[string]any
		if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 2 {
			t.Fatalf("want a JSON array of 2: %v\n%s", err, out)
		}
		if rs[1]["kind"] != "model" || rs[1]["verdict"] != "quarantine" || rs[1]["pinned"] != true {
			t.Errorf("model: %v", rs[1])
		}
		if reasons, _ := rs[1]["reasons"].([]any); len(reasons) == 0 {
			t.Errorf("quarantined model has no reasons")
		}
		if code != exitFindings {
			t.Errorf("exit %d, want %d", code, exitFindings)
		}
	})

	t.Run("default policy denies and explains", func(t *testing.T) {
		out, code := scan(t, scanOptions{output: "text"}, app.String())
		if code != exitFindings || !strings.Contains(out, "deny: registry untrusted") || !strings.Contains(out, "signature invalid") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})

	t.Run("unreachable registry exits 1 with the error", func(t *testing.T) {
		out, code := scan(t, scanOptions{policyFile: policyFile, output: "json"}, "127.0.0.1:1/apps/web:v1")
		if code != 1 || !strings.Contains(out, "registry unavailable") || !strings.Contains(out, `"verdict": "deny"`) {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})

	t.Run("bad policy file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		_ = os.WriteFile(bad, []byte("apiVersion: airlock.dev/v1alpha1\nkind: AirlockPolicy\nspec:\n  images:\n    trustedRegistry: [x]\n"), 0o600)
		var out bytes.Buffer
		err := runScan(context.Background(), &out, &scanOptions{policyFile: bad, output: "text"}, []string{app.String()})
		if err == nil || !strings.Contains(err.Error(), "trustedRegistry") {
			t.Errorf("misspelt field: err = %v, want it named", err)
		}
	})
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
