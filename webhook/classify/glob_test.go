package classify

import "testing"

func TestMatchRepository(t *testing.T) {
	cases := []struct {
		glob, repo string
		want       bool
	}{
		{"ghcr.io/acme/*", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/*", "ghcr.io/acme/team/app", false}, // * stays within a segment
		{"ghcr.io/acme/**", "ghcr.io/acme/team/app", true},
		{"ghcr.io/acme/**", "ghcr.io/acme", true}, // ** matches zero segments
		{"ghcr.io/acme/**", "ghcr.io/acmecorp/app", false},
		{"ghcr.io/**/app", "ghcr.io/a/b/c/app", true},
		{"ghcr.io/**/app", "ghcr.io/a/b/c/app2", false},
		{"registry.internal:5000/**", "registry.internal:5000/x/y", true},
		{"registry.internal:5000/**", "registry.internal:5001/x", false},
		{"*.gcr.io/proj/*", "eu.gcr.io/proj/img", true},
		{"ghcr.io/acme/app", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/app", "ghcr.io/acme/app-evil", false}, // no prefix matching
		{"ghcr.io/acme/[", "ghcr.io/acme/[", false},          // malformed pattern never matches
		{"**", "anything/at/all", true},
	}
	for _, c := range cases {
		if got := MatchRepository(c.glob, c.repo); got != c.want {
			t.Errorf("MatchRepository(%q, %q) = %v, want %v", c.glob, c.repo, got, c.want)
		}
	}
}

func TestNormaliseGlobDockerHub(t *testing.T) {
	ref, err := ParseReference(nil, "nginx:1.27")
	if err != nil {
		t.Fatal(err)
	}
	if !MatchRepository(normaliseGlob("docker.io/library/*"), ref.Context().Name()) {
		t.Errorf("docker.io/library/* does not match %s", ref.Context().Name())
	}
}
