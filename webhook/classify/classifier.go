package classify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultLookupTimeout bounds one registry lookup when Classifier.Timeout is zero. Admission
// webhooks have at most 30 s in all, so a slow registry must not take them all.
const DefaultLookupTimeout = 8 * time.Second

// Classifier classifies image references, caching per image and digest. The zero value is not
// usable; create one with New or NewRemote. It is safe for concurrent use.
type Classifier struct {
	inspector Inspector
	verifier  Verifier
	// Timeout bounds one shared registry lookup. Zero means DefaultLookupTimeout.
	Timeout time.Duration

	artifacts  *cache[inspected]
	signatures *cache[signed]

	hits, coalesced, misses atomic.Int64
}

// CacheStats counts lookups (of manifests and of signatures) by how they were answered.
type CacheStats struct {
	// Hits were answered from the cache.
	Hits int64
	// Coalesced waited for a lookup of the same key already in flight.
	Coalesced int64
	// Misses asked a registry.
	Misses int64
}

// inspected is a resolved reference with its kind, decided once per cache entry: the kind depends
// only on the repository and the artifact, both fixed for the entry's key.
type inspected struct {
	digest     string
	kind       Kind
	kindReason string
}

type signed struct {
	status SignatureStatus
	by     string
}

// New returns a Classifier using the given registry access; now is the clock (nil: time.Now).
func New(in Inspector, v Verifier, now func() time.Time) *Classifier {
	if now == nil {
		now = time.Now
	}
	return &Classifier{inspector: in, verifier: v, artifacts: newCache[inspected](now), signatures: newCache[signed](now)}
}

// NewRemote returns a Classifier that asks registries with go-containerregistry and checks
// signatures with cosign, both with opts (transport, keychain). Registry connections and tokens
// are reused across lookups (a remote.Puller), so a lookup does not ping the registry again.
func NewRemote(opts ...remote.Option) (*Classifier, error) {
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	opts = append(opts[:len(opts):len(opts)], remote.Reuse(puller))
	return New(RemoteInspector{Options: opts}, CosignVerifier{Options: opts}, nil), nil
}

// CacheStats returns how the lookups so far were answered.
func (c *Classifier) CacheStats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Coalesced: c.coalesced.Load(), Misses: c.misses.Load()}
}

// ParseReference parses an image reference as a kubelet would, with Docker Hub as the default
// registry and plain HTTP for the policy's insecure registries.
func ParseReference(p *Policy, image string) (name.Reference, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("image reference %q does not parse: %w", image, err)
	}
	if p != nil && p.Insecure[ref.Context().RegistryStr()] {
		return name.ParseReference(image, name.Insecure)
	}
	return ref, nil
}

// Classify classifies one image reference under a policy. The error is an UnavailableError when
// the registry could not be asked and nothing fresh was cached; any other error is about the image
// itself (unparseable, not found, access refused).
func (c *Classifier) Classify(ctx context.Context, p *Policy, image string) (Result, error) {
	ref, err := ParseReference(p, image)
	if err != nil {
		return Result{}, err
	}
	repo := ref.Context().Name()
	r := Result{Image: image, Repository: repo, Registry: RegistryUntrusted}
	_, r.Pinned = ref.(name.Digest)
	for _, g := range p.TrustedRegistries {
		if MatchRepository(g, repo) {
			r.Registry = RegistryTrusted
			break
		}
	}

	art, err := lookup(c, ctx, c.artifacts, ref.Name(), p.CacheTTL, func(ctx context.Context) (inspected, error) {
		a, err := c.inspector.Inspect(ctx, ref)
		if err != nil {
			return inspected{}, err
		}
		kind, why := DetectKind(repo, a)
		return inspected{digest: a.Digest.String(), kind: kind, kindReason: why}, nil
	})
	if err != nil {
		return r, err
	}
	r.Digest, r.Kind, r.KindReason = art.digest, art.kind, art.kindReason

	dig := ref.Context().Digest(r.Digest)
	sig, err := lookup(c, ctx, c.signatures, dig.Name()+"|"+p.fingerprint, p.CacheTTL, func(ctx context.Context) (signed, error) {
		st, by, err := c.verifier.Verify(ctx, dig, p.Authorities)
		return signed{st, by}, err
	})
	if err != nil {
		return r, err
	}
	r.Signature, r.SignedBy = sig.status, sig.by
	return r, nil
}

// lookup is cache.get with the classifier's timeout and statistics.
func lookup[V any](c *Classifier, ctx context.Context, ch *cache[V], key string, ttl time.Duration, fetch func(context.Context) (V, error)) (V, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultLookupTimeout
	}
	var ran atomic.Bool
	v, hit, err := ch.get(ctx, key, ttl, func() (V, error) {
		ran.Store(true)
		c.misses.Add(1)
		// Detached from the first caller, bounded by the timeout: see cache.get.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return fetch(fctx)
	})
	switch {
	case hit:
		c.hits.Add(1)
	case !ran.Load():
		c.coalesced.Add(1)
	}
	return v, err
}

// ClassifyAll classifies images concurrently; results and errors are indexed like images.
// Repeated references share one lookup.
func (c *Classifier) ClassifyAll(ctx context.Context, p *Policy, images []string) ([]Result, []error) {
	results := make([]Result, len(images))
	errs := make([]error, len(images))
	var wg sync.WaitGroup
	for i, img := range images {
		wg.Go(func() { results[i], errs[i] = c.Classify(ctx, p, img) })
	}
	wg.Wait()
	return results, errs
}

// Summary renders a result as the airlock.dev/verdict annotation shows it:
// "registry=untrusted,signature=unsigned,kind=model,pinned=false".
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry=%s,signature=%s", r.Registry, r.Signature)
	if r.SignedBy != "" {
		fmt.Fprintf(&b, ",signedBy=%s", r.SignedBy)
	}
	fmt.Fprintf(&b, ",kind=%s,pinned=%t", r.Kind, r.Pinned)
	return b.String()
}
