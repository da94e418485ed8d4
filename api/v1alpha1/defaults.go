package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultCacheTTL is how long classifications are reused when a policy does not say.
const DefaultCacheTTL = 10 * time.Minute

// Default fills every omitted field with its documented default. The API server applies the same
// defaults from the CRD schema; this serves policies read from files (airlock scan, policy test).
func (ip *ImagePolicy) Default() {
	a := &ip.Actions
	for _, f := range []struct {
		v   *Action
		def Action
	}{
		{&a.UntrustedRegistry, ActionDeny},
		{&a.Unsigned, ActionDeny},
		{&a.InvalidSignature, ActionDeny},
		{&a.Unpinned, ActionAllow},
		{&a.Model, ActionQuarantine},
		{&a.ModelServer, ActionQuarantine},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	if ip.FailureMode == "" {
		ip.FailureMode = FailClosed
	}
	if ip.CacheTTL == nil {
		ip.CacheTTL = &metav1.Duration{Duration: DefaultCacheTTL}
	}
}
