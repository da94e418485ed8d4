package classify_test

import (
	"context"

	"errors"
	"fmt"
	"github.com/google/go-containerregistry/pkg/name"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/test/testregistry"
	"github.com/airlock-dev/airlock/webhook/classify"
)

// fixture is a registry holding one image of every kind the acceptance list names, and a policy
// trusting the registry and the "release" key.
type fixture struct {
	reg                                   *testregistry.Registry
	trusted, other                        *testregistry.Key
	unsigned, signed, otherSigned, vllm   string
	modelPack, kitOps, dockerAI, plainTag string
	policy                                *classify.Policy
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{reg: testregistry.New()}
	t.Cleanup(f.reg.Close)
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.trusted, err = testregistry.NewKey()
	must(err)
	f.other, err = testregistry.NewKey()
	must(err)

	push := func(repo string, img testregistry.Image) string {
		d, err := f.reg.PushImage(repo, "v1", img)
		must(err)
		return d.String()
	}
	f.unsigned = push("apps/unsigned", testregistry.Image{Cmd: []string{"/app"}})
	f.signed = push("apps/signed", testregistry.Image{Cmd: []string{"/app"}})
	f.otherSigned = push("apps/other", testregistry.Image{Cmd: []string{"/app"}})
	f.vllm = push("apps/llm-api", testregistry.Image{Entrypoint: []string{"python3", "-m", "vllm.entrypoints.openai.api_server"}})
	f.plainTag = f.reg.Ref("apps/signed", ":v1")
	must(f.reg.Sign(digest(t, f.signed), f.trusted))
	must(f.reg.Sign(digest(t, f.otherSigned), f.other))

	model := func(repo string, format testregistry.ModelFormat) string {
		d, err := f.reg.PushModel(repo, "v1", format)
		must(err)
		return d.String()
	}
	f.modelPack = model("models/modelpack", testregistry.ModelPack)
	f.kitOps = model("models/kitops", testregistry.KitOps)
	f.dockerAI = model("models/docker-ai", testregistry.DockerAI)

	f.policy, err = classify.Compile(context.Background(), v1alpha1.ImagePolicy{
		TrustedRegistries: []string{f.reg.Host + "/**"},
		Authorities:       []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{PublicKey: string(f.trusted.PublicPEM)}}},
	}, nil)
	must(err)
	f.reg.Reset()
	return f
}

func digest(t testing.TB, ref string) (d name.Digest) {
	t.Helper()
	r, err := classify.ParseReference(nil, ref)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := r.(name.Digest)
	if !ok {
		t.Fatalf("%s is not a digest reference", ref)
	}
	return d
}

func (f *fixture) classifier() *classify.Classifier {
	c, err := classify.NewRemote(f.reg.RemoteOptions()...)
	if err != nil {
		panic(err) // only with invalid options, which the fixture never passes
	}
	return c
}

func TestClassifyAgainstRegistry(t *testing.T) {
	f := newFixture(t)
	c := f.classifier()
	cases := []struct {
		name      string
		image     string
		signature classify.SignatureStatus
		signedBy  string
		kind      classify.Kind
		pinned    bool
		verdict   v1alpha1.Action
	}{
		{"unsigned", f.unsigned, classify.SignatureUnsigned, "", classify.KindContainer, true, v1alpha1.ActionDeny},
		{"signed by the trusted key", f.signed, classify.SignatureVerified, "release", classify.KindContainer, true, v1alpha1.ActionAllow},
		{"signed by another key", f.otherSigned, classify.SignatureInvalid, "", classify.KindContainer, true, v1alpha1.ActionDeny},
		{"tag, not pinned", f.plainTag, classify.SignatureVerified, "release", classify.KindContainer, false, v1alpha1.ActionAllow},
		{"vllm-style model server", f.vllm, classify.SignatureUnsigned, "", classify.KindModelServer, true, v1alpha1.ActionDeny},
		{"ModelPack artifact", f.modelPack, classify.SignatureUnsigned, "", classify.KindModel, true, v1alpha1.ActionDeny},
		{"KitOps ModelKit", f.kitOps, classify.SignatureUnsigned, "", classify.KindModel, true, v1alpha1.ActionDeny},
		{"Docker AI model", f.dockerAI, classify.SignatureUnsigned, "", classify.KindModel, true, v1alpha1.ActionDeny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Classify(context.Background(), f.policy, tc.image)
			if err != nil {
				t.Fatal(err)
			}
			if r.Registry != classify.RegistryTrusted || r.Signature != tc.signature || r.SignedBy != tc.signedBy ||
				r.Kind != tc.kind || r.Pinned != tc.pinned {
				t.Errorf("got %s (kind reason %q), want signature=%s signedBy=%q kind=%s pinned=%t",
					r.Summary(), r.KindReason, tc.signature, tc.signedBy, tc.kind, tc.pinned)
			}
			if !strings.HasPrefix(r.Digest, "sha256:") || r.Image != tc.image {
				t.Errorf("digest %q, image %q: want a resolved digest and the reference unchanged", r.Digest, r.Image)
			}
			if v := classify.Decide(f.policy, r); v.Action != tc.verdict {
				t.Errorf("verdict %s %q, want %s", v.Action, v.Reasons, tc.verdict)
			}
		})
	}

	t.Run("tag resolves to the signed digest", func(t *testing.T) {
		r, _ := c.Classify(context.Background(), f.policy, f.plainTag)
		if want := digest(t, f.signed).DigestStr(); r.Digest != want {
			t.Errorf("tag resolved to %s, want %s", r.Digest, want)
		}
	})
	t.Run("untrusted registry", func(t *testing.T) {
		p, err := classify.Compile(context.Background(), v1alpha1.ImagePolicy{TrustedRegistries: []string{"ghcr.io/acme/*"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Classify(context.Background(), p, f.signed)
		if err != nil {
			t.Fatal(err)
		}
		if r.Registry != classify.RegistryUntrusted || r.Signature != classify.SignatureInvalid {
			t.Errorf("got %s, want an untrusted registry, and a signature no authority of this policy verifies", r.Summary())
		}
	})
	t.Run("missing image is an image error, not an outage", func(t *testing.T) {
		_, err := c.Classify(context.Background(), f.policy, f.reg.Ref("apps/nope", ":v1"))
		if err == nil || errors.Is(err, classify.ErrRegistryUnavailable) || !strings.Contains(err.Error(), "not found") {
			t.Errorf("err = %v, want a not-found error that is not ErrRegistryUnavailable", err)
		}
	})
}

// TestLookupsAreCoalescedAndCached is the acceptance count: 20 concurrent classifications of the
// same 3 images resolve each manifest once; a second round within the TTL asks nothing at all.
func TestLookupsAreCoalescedAndCached(t *testing.T) {
	f := newFixture(t)
	c := f.classifier()
	images := []string{f.plainTag, f.vllm, f.modelPack}

	round := func() {
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, errs := c.ClassifyAll(context.Background(), f.policy, images)
				for _, err := range errs {
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	round()
	var manifests, sigs int
	for _, r := range f.reg.Requests() {
		if _, _, ok := r.Manifest(); ok && !r.IsSignature() {
			manifests++
		} else if r.IsSignature() {
			sigs++
		}
	}
	if manifests != 3 || sigs != 3 {
		t.Errorf("first round: %d manifest resolutions and %d signature lookups, want 3 and 3; requests: %v", manifests, sigs, f.reg.Requests())
	}

	f.reg.Reset()
	round()
	if n := len(f.reg.Requests()); n != 0 {
		t.Errorf("second round within the TTL made %d registry requests, want 0: %v", n, f.reg.Requests())
	}
	// 3 images x 2 lookups (manifest, signatures) went to the registry; every other lookup of
	// the 2 rounds x 20 pods x 3 images x 2 was answered by the cache or by joining a lookup.
	st := c.CacheStats()
	if st.Misses != 6 || st.Hits+st.Coalesced != 2*20*3*2-6 || st.Hits < 20*3*2 {
		t.Errorf("cache stats %+v: want 6 misses, %d hits or coalesced, at least the whole second round as hits", st, 2*20*3*2-6)
	}
}

func TestTTLExpiryAsksAgain(t *testing.T) {
	f := newFixture(t)
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	opts := f.reg.RemoteOptions()
	c := classify.New(classify.RemoteInspector{Options: opts}, classify.CosignVerifier{Options: opts}, clock)
	if _, err := c.Classify(context.Background(), f.policy, f.plainTag); err != nil {
		t.Fatal(err)
	}
	f.reg.Reset()
	mu.Lock()
	now = now.Add(f.policy.CacheTTL + time.Second)
	mu.Unlock()
	if _, err := c.Classify(context.Background(), f.policy, f.plainTag); err != nil {
		t.Fatal(err)
	}
	if len(f.reg.Requests()) == 0 {
		t.Error("after the TTL the registry was not asked again")
	}
}

func TestRegistryOutage(t *testing.T) {
	f := newFixture(t)
	c := f.classifier()
	if _, err := c.Classify(context.Background(), f.policy, f.signed); err != nil {
		t.Fatal(err)
	}
	f.reg.Close()

	// A fresh cached classification is still served.
	r, err := c.Classify(context.Background(), f.policy, f.signed)
	if err != nil || r.Signature != classify.SignatureVerified {
		t.Fatalf("cached classification during the outage: %s, %v", r.Summary(), err)
	}
	// Anything not cached is a typed outage, answered by the failure mode.
	_, err = c.Classify(context.Background(), f.policy, f.unsigned)
	var unavailable *classify.UnavailableError
	if !errors.Is(err, classify.ErrRegistryUnavailable) || !errors.As(err, &unavailable) {
		t.Fatalf("err = %v, want an UnavailableError", err)
	}
	if v := classify.DecideError(f.policy, f.unsigned, err); v.Action != v1alpha1.ActionDeny {
		t.Errorf("fail-closed policy: verdict %s, want deny", v.Action)
	}
	// The outage is not cached: a second try asks again (and fails again, typed).
	if _, err := c.Classify(context.Background(), f.policy, f.unsigned); !errors.Is(err, classify.ErrRegistryUnavailable) {
		t.Errorf("second try: %v", err)
	}
}

func TestCancelledCallerReturnsPromptly(t *testing.T) {
	f := newFixture(t)
	c := f.classifier()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Classify(ctx, f.policy, f.signed); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	// The detached lookup still completes and serves the next caller.
	if r, err := c.Classify(context.Background(), f.policy, f.signed); err != nil || r.Signature != classify.SignatureVerified {
		t.Errorf("after a cancelled caller: %s, %v", r.Summary(), err)
	}
}

// TestKeylessAgainstPrivateTrustRoot verifies Fulcio-style certificates against a trust root the
// policy carries, offline: the identity must match issuer and subject, and chain to the root.
func TestKeylessAgainstPrivateTrustRoot(t *testing.T) {
	f := newFixture(t)
	ca, err := testregistry.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := testregistry.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	trustRoot, err := ca.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://token.actions.example"
	p, err := classify.Compile(context.Background(), v1alpha1.ImagePolicy{
		TrustedRegistries: []string{f.reg.Host + "/**"},
		Authorities: []v1alpha1.Authority{{Name: "ci", Keyless: &v1alpha1.KeylessAuthority{
			Issuer: issuer, SubjectRegExp: `^release@acme\.example$`, TrustRoot: v1alpha1.TrustRoot{JSON: string(trustRoot)},
			IgnoreTransparencyLog: true, IgnoreSCT: true,
		}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name            string
		ca              *testregistry.CA
		subject, issuer string
		want            classify.SignatureStatus
	}{
		{"trusted identity", ca, "release@acme.example", issuer, classify.SignatureVerified},
		{"other subject", ca, "intern@acme.example", issuer, classify.SignatureInvalid},
		{"other issuer", ca, "release@acme.example", "https://evil.example", classify.SignatureInvalid},
		{"certificate from another CA", rogue, "release@acme.example", issuer, classify.SignatureInvalid},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := f.reg.PushImage("keyless/app", fmt.Sprint(i), testregistry.Image{Cmd: []string{fmt.Sprint(i)}})
			if err != nil {
				t.Fatal(err)
			}
			id, err := tc.ca.Issue(tc.subject, tc.issuer)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.reg.SignKeyless(d, id); err != nil {
				t.Fatal(err)
			}
			r, err := f.classifier().Classify(context.Background(), p, d.String())
			if err != nil {
				t.Fatal(err)
			}
			if r.Signature != tc.want || (tc.want == classify.SignatureVerified && r.SignedBy != "ci") {
				t.Errorf("got %s, want signature=%s", r.Summary(), tc.want)
			}
		})
	}
}

// TestBorrowedSignatureIsInvalid: a valid signature of one image, copied to another image's
// signature tag, must not verify the second image.
func TestBorrowedSignatureIsInvalid(t *testing.T) {
	f := newFixture(t)
	if err := f.reg.CopySignature(digest(t, f.signed), digest(t, f.unsigned)); err != nil {
		t.Fatal(err)
	}
	r, err := f.classifier().Classify(context.Background(), f.policy, f.unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if r.Signature != classify.SignatureInvalid {
		t.Errorf("borrowed signature: got %s, want signature=invalid", r.Summary())
	}
}
