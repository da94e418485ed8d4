package ratelimiter

import (
	"fmt"
	"net"
	"net/url"
	pathpkg "path"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// Kind is what a bucket counts.
type Kind string

// Kinds.
const (
	KindRequests Kind = "requests"
	KindTokens   Kind = "tokens"
)

// ParseKind reads "requests" (also the default, "") or "tokens".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case "", KindRequests:
		return KindRequests, nil
	case KindTokens:
		return KindTokens, nil
	}
	return "", fmt.Errorf("ratelimiter: unknown kind %q: use requests or tokens", s)
}

// Rules are the rate limits of a set of AirlockPolicies, ready to match calls. A Rules value is
// immutable; the Limiter swaps in a new one when policies change.
type Rules struct {
	policies []policyRules // sorted by name: the first that selects a namespace applies
}

type policyRules struct {
	name     string
	selector labels.Selector
	limits   []*rule
}

// rule is one compiled RateLimit.
type rule struct {
	policy, name string
	endpoints    []v1alpha1.EndpointMatch
	limits       map[Kind]Limit
	// keys end a namespace's bucket key for each kind: "/policy/name/kind".
	keys        map[Kind]string
	failOpen    bool
	stopStreams bool
}

// CompileRules compiles the rate limits of policies. A policy that does not validate is an
// error naming it and the field, so a file or a cluster with a broken policy is reported, not
// half applied.
func CompileRules(policies []v1alpha1.AirlockPolicy) (*Rules, error) {
	rs := &Rules{}
	for i := range policies {
		p := &policies[i]
		if errs := p.Validate(); len(errs) > 0 {
			return nil, fmt.Errorf("ratelimiter: AirlockPolicy %s is invalid: %w", p.Name, errs.ToAggregate())
		}
		sel := labels.Everything()
		if p.Spec.NamespaceSelector != nil {
			var err error
			if sel, err = metav1.LabelSelectorAsSelector(p.Spec.NamespaceSelector); err != nil {
				return nil, fmt.Errorf("ratelimiter: AirlockPolicy %s: spec.namespaceSelector: %w", p.Name, err)
			}
		}
		pr := policyRules{name: p.Name, selector: sel}
		for _, rl := range p.Spec.RateLimits {
			r := &rule{policy: p.Name, name: rl.Name, endpoints: rl.Endpoints, limits: map[Kind]Limit{}, keys: map[Kind]string{},
				failOpen: rl.FailureMode != v1alpha1.FailClosed, stopStreams: rl.StopStreams}
			for kind, q := range map[Kind]*v1alpha1.Quota{KindRequests: rl.Requests, KindTokens: rl.Tokens} {
				if q != nil {
					r.limits[kind] = Limit{Capacity: q.Capacity(), Amount: q.Amount, Per: q.Period()}
					r.keys[kind] = "/" + p.Name + "/" + rl.Name + "/" + string(kind)
				}
			}
			pr.limits = append(pr.limits, r)
		}
		rs.policies = append(rs.policies, pr)
	}
	sort.Slice(rs.policies, func(i, j int) bool { return rs.policies[i].name < rs.policies[j].name })
	return rs, nil
}

// match returns the rules of the policy that applies to a namespace (with these labels) whose
// endpoints match the call.
func (rs *Rules) match(nsLabels labels.Labels, host, path string, kind Kind, out []*rule) []*rule {
	if rs == nil {
		return out
	}
	for i := range rs.policies {
		p := &rs.policies[i]
		if !p.selector.Matches(nsLabels) {
			continue
		}
		for _, r := range p.limits {
			if _, ok := r.limits[kind]; ok && r.matches(host, path) {
				out = append(out, r)
			}
		}
		return out // the first selecting policy decides, as for admission
	}
	return out
}

func (r *rule) matches(host, path string) bool {
	if len(r.endpoints) == 0 {
		return true
	}
	for _, e := range r.endpoints {
		if hostMatches(e.Host, host) && strings.HasPrefix(path, e.PathPrefix) {
			return true
		}
	}
	return false
}

// hostMatches compares case-insensitively; "*.example.com" matches any subdomain, not the apex.
func hostMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return len(host) > len(suffix) && strings.EqualFold(host[len(host)-len(suffix):], suffix)
	}
	return strings.EqualFold(pattern, host)
}

// SplitEndpoint splits "host[:port]/path" (or a URL) into a lower-case host and a path. The path
// is what a server would route, so a limit on a prefix cannot be dodged by spelling it another way:
// percent-escapes are decoded, and "//", "." and ".." segments resolved ("/v1/./%63hat/" is
// "/v1/chat/"). The query is not part of it.
func SplitEndpoint(endpoint string) (host, path string) {
	if _, rest, ok := strings.Cut(endpoint, "://"); ok {
		endpoint = rest
	}
	host, path, _ = strings.Cut(endpoint, "/")
	path, _, _ = strings.Cut("/"+path, "?")
	if strings.Contains(host, ":") {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h // also unbrackets "[::1]:8080"
		} else {
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
	}
	if !strings.Contains(path, "%") && !strings.Contains(path, "//") && !strings.Contains(path, "/.") {
		return strings.ToLower(host), path // already canonical: the common case costs nothing
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	cleaned := pathpkg.Clean(path)
	if strings.HasSuffix(path, "/") && cleaned != "/" {
		cleaned += "/" // "/v1/chat/" must still match the prefix "/v1/chat/"
	}
	return strings.ToLower(host), cleaned
}
