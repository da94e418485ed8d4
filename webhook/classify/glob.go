package classify

import (
	"path"
	"strings"
)

// MatchRepository reports whether glob matches repo. Both are split on "/"; "**" matches any
// number of segments (zero included) and every other segment is a path.Match pattern, so "*" never
// crosses a "/". Globs are validated when a policy compiles (v1alpha1.ValidateRegistryGlob), and a
// malformed segment here simply does not match.
func MatchRepository(glob, repo string) bool {
	return matchSegments(strings.Split(glob, "/"), strings.Split(repo, "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], segs[0]); err != nil || !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// normaliseGlob spells Docker Hub the way go-containerregistry names it, so users can write
// "docker.io/library/*" and have it match "nginx".
func normaliseGlob(g string) string {
	if rest, ok := strings.CutPrefix(g, "docker.io/"); ok {
		return "index.docker.io/" + rest
	}
	return g
}
