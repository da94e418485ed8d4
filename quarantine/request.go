package quarantine

import (
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// AnnotationTTL, a Go duration ("24h"), releases a quarantine automatically that long after
// airlock.dev/quarantined-at.
const AnnotationTTL = "airlock.dev/quarantine-ttl"

// request is a quarantine asked for by one object's annotations.
type request struct {
	// holder is the object carrying the annotation: the Pod itself or a workload owning it.
	holder client.Object
	reason string
	by     string
	// since is airlock.dev/quarantined-at, zero until the reconciler has recorded it.
	since time.Time
	// ttl is zero for a quarantine without expiry.
	ttl time.Duration
	// ttlErr says why an airlock.dev/quarantine-ttl could not be read; the quarantine then holds
	// without expiry (failing closed), and the user is told.
	ttlErr error
}

// requestOf reads a quarantine request from an object's annotations; nil when there is none.
func requestOf(obj client.Object) *request {
	a := obj.GetAnnotations()
	if a[v1alpha1.AnnotationQuarantine] != "true" {
		return nil
	}
	r := &request{holder: obj, reason: a[v1alpha1.AnnotationQuarantineReason], by: a[v1alpha1.AnnotationQuarantinedBy]}
	if t, err := time.Parse(time.RFC3339, a[v1alpha1.AnnotationQuarantinedAt]); err == nil {
		r.since = t
	}
	if s := a[AnnotationTTL]; s != "" {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			r.ttlErr = fmt.Errorf("%s %q is not a Go duration such as 24h: %w", AnnotationTTL, s, err)
		case d <= 0:
			r.ttlErr = fmt.Errorf("%s %q must be positive", AnnotationTTL, s)
		default:
			r.ttl = d
		}
	}
	return r
}

// expiry returns when the quarantine ends, and false when it does not (no TTL, or not yet
// recorded as started).
func (r *request) expiry() (time.Time, bool) {
	if r.ttl == 0 || r.since.IsZero() {
		return time.Time{}, false
	}
	return r.since.Add(r.ttl), true
}

// firstRequest returns the first quarantine request among the objects (the pod first, then its
// owners outward).
func firstRequest(objs []client.Object) *request {
	for _, o := range objs {
		if r := requestOf(o); r != nil {
			return r
		}
	}
	return nil
}
