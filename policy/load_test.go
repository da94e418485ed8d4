package policy

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		n       int
		wantErr string
	}{
		{"one", "apiVersion: airlock.dev/v1alpha1\nkind: AirlockPolicy\nmetadata: {name: a}\n", 1, ""},
		{"two with comments", "# header\n---\napiVersion: airlock.dev/v1alpha1\nkind: AirlockPolicy\nmetadata: {name: a}\n---\n" +
			"apiVersion: airlock.dev/v1alpha1\nkind: AirlockPolicy\nmetadata: {name: b}\n", 2, ""},
		{"json", `{"apiVersion":"airlock.dev/v1alpha1","kind":"AirlockPolicy","metadata":{"name":"a"}}`, 1, ""},
		{"misspelt field", "apiVersion: airlock.dev/v1alpha1\nkind: AirlockPolicy\nspec: {images: {trustedRegistry: [x]}}\n", 0, `unknown field "trustedRegistry"`},
		{"other kind", "apiVersion: v1\nkind: Pod\n", 0, "want apiVersion airlock.dev/v1alpha1, kind AirlockPolicy"},
		{"empty", "# nothing\n", 0, "no AirlockPolicy found"},
		{"not yaml", "apiVersion: [\n", 0, "document 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := Decode([]byte(c.in))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(ps) != c.n {
				t.Fatalf("got %d policies, %v; want %d", len(ps), err, c.n)
			}
		})
	}
}
