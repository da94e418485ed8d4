package classify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// Verdict is what a policy makes of one image: the strictest action of its findings, and a reason
// for every finding that is not allowed, each saying what is wrong and how to fix it.
type Verdict struct {
	Action  v1alpha1.Action `json:"verdict"`
	Reasons []string        `json:"reasons,omitempty"`
}

// severity orders actions: the strictest wins.
func severity(a v1alpha1.Action) int {
	switch a {
	case v1alpha1.ActionDeny:
		return 2
	case v1alpha1.ActionQuarantine:
		return 1
	default:
		return 0
	}
}

func (v *Verdict) add(a v1alpha1.Action, reason string) {
	if a == v1alpha1.ActionAllow || a == "" {
		return
	}
	if severity(a) > severity(v.Action) {
		v.Action = a
	}
	v.Reasons = append(v.Reasons, fmt.Sprintf("%s: %s", a, reason))
}

// Decide applies a policy's actions to a classification.
func Decide(p *Policy, r Result) Verdict {
	v := Verdict{Action: v1alpha1.ActionAllow}
	act := p.Actions
	if r.Registry != RegistryTrusted {
		v.add(act.UntrustedRegistry, fmt.Sprintf("registry untrusted: %s matches no spec.images.trustedRegistries glob; "+
			"mirror the image to a trusted registry or add its repository to the policy", r.Repository))
	}
	switch r.Signature {
	case SignatureUnsigned:
		v.add(act.Unsigned, fmt.Sprintf("unsigned: %s has no cosign signature; sign the digest with a key or identity "+
			"listed in spec.images.authorities", r.Digest))
	case SignatureInvalid:
		v.add(act.InvalidSignature, fmt.Sprintf("signature invalid: %s is signed, but by none of the authorities [%s]; "+
			"re-sign it with a trusted key or add its signer to spec.images.authorities", r.Digest, authorityNames(p)))
	}
	if !r.Pinned {
		v.add(act.Unpinned, fmt.Sprintf("not pinned: referenced by tag; deploy it as %s@%s", r.Repository, r.Digest))
	}
	switch r.Kind {
	case KindModel:
		v.add(act.Model, fmt.Sprintf("AI model artifact (%s); spec.images.actions.model decides", r.KindReason))
	case KindModelServer:
		v.add(act.ModelServer, fmt.Sprintf("model server (%s); spec.images.actions.modelServer decides", r.KindReason))
	}
	return v
}

// DecideError turns a classification error into a verdict: an unreachable registry follows the
// policy's failure mode (closed: deny, open: allow with a reason that is shown as a warning); any
// other error is about the image itself and denies.
func DecideError(p *Policy, image string, err error) Verdict {
	if errors.Is(err, ErrRegistryUnavailable) {
		if p.FailureMode == v1alpha1.FailOpen {
			return Verdict{Action: v1alpha1.ActionAllow, Reasons: []string{fmt.Sprintf(
				"unverified: admitted without classification because the registry of %s is unreachable "+
					"and spec.images.failureMode is open: %v", image, err)}}
		}
		return Verdict{Action: v1alpha1.ActionDeny, Reasons: []string{fmt.Sprintf(
			"deny: the registry of %s is unreachable and spec.images.failureMode is closed; retry when the registry "+
				"is back, or set failureMode: open to admit unverified images during outages: %v", image, err)}}
	}
	return Verdict{Action: v1alpha1.ActionDeny, Reasons: []string{"deny: " + err.Error()}}
}

func authorityNames(p *Policy) string {
	names := make([]string, len(p.Authorities))
	for i, a := range p.Authorities {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}
