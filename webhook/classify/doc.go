// Package classify tells, for one image reference, what it is and whether the policy trusts it.
//
// Each image is classified along four axes:
//
//   - registry: trusted when a TrustedRegistries glob matches its repository (see MatchRepository);
//   - signature: verified (naming the authority), unsigned, or invalid, checked with cosign against
//     the resolved digest, never the tag;
//   - kind: model, model-server or container (see DetectKind for the heuristics);
//   - pinning: whether the reference names a digest.
//
// Registry access and signature verification sit behind the Inspector and Verifier interfaces, so
// the decision logic is pure and tested without I/O; the production implementations use
// go-containerregistry and cosign. A Classifier caches both per digest (positive and negative
// results, with the policy's TTL) and coalesces concurrent lookups of one image, so a 50-replica
// rollout or an 8-container pod costs one registry round trip per distinct image.
//
// A registry that cannot be reached yields an error matching ErrRegistryUnavailable, so callers can
// apply the policy's failure mode instead of treating an outage like a bad image.
package classify
