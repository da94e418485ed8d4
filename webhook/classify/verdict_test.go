package classify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

func TestDecide(t *testing.T) {
	p, err := Compile(context.Background(), v1alpha1.ImagePolicy{
		TrustedRegistries: []string{"ghcr.io/acme/*"},
		Actions:           v1alpha1.ImageActions{Unpinned: v1alpha1.ActionQuarantine},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := Result{Repository: "ghcr.io/acme/app", Digest: "sha256:ab", Registry: RegistryTrusted,
		Signature: SignatureVerified, SignedBy: "release", Kind: KindContainer, Pinned: true}
	with := func(f func(*Result)) Result { r := good; f(&r); return r }
	cases := []struct {
		name   string
		r      Result
		want   v1alpha1.Action
		reason string // a substring every reason list must contain
	}{
		{"all good", good, v1alpha1.ActionAllow, ""},
		{"untrusted registry", with(func(r *Result) { r.Registry = RegistryUntrusted }), v1alpha1.ActionDeny, "registry untrusted"},
		{"unsigned", with(func(r *Result) { r.Signature = SignatureUnsigned }), v1alpha1.ActionDeny, "unsigned"},
		{"invalid", with(func(r *Result) { r.Signature = SignatureInvalid }), v1alpha1.ActionDeny, "signature invalid"},
		{"unpinned quarantines", with(func(r *Result) { r.Pinned = false }), v1alpha1.ActionQuarantine, "deploy it as ghcr.io/acme/app@sha256:ab"},
		{"model quarantines by default", with(func(r *Result) { r.Kind = KindModel }), v1alpha1.ActionQuarantine, "AI model artifact"},
		{"deny beats quarantine", with(func(r *Result) { r.Kind = KindModelServer; r.Signature = SignatureUnsigned }), v1alpha1.ActionDeny, "model server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(p, c.r)
			if v.Action != c.want {
				t.Fatalf("action = %s, want %s (reasons %q)", v.Action, c.want, v.Reasons)
			}
			if c.reason == "" && len(v.Reasons) != 0 {
				t.Errorf("allowed image has reasons %q", v.Reasons)
			}
			if c.reason != "" && !strings.Contains(strings.Join(v.Reasons, "\n"), c.reason) {
				t.Errorf("reasons %q lack %q", v.Reasons, c.reason)
			}
		})
	}
}

func TestDecideErrorFollowsFailureMode(t *testing.T) {
	down := &UnavailableError{Image: "x", Err: errors.New("connection refused")}
	for _, c := range []struct {
		mode v1alpha1.FailureMode
		err  error
		want v1alpha1.Action
	}{
		{v1alpha1.FailClosed, down, v1alpha1.ActionDeny},
		{v1alpha1.FailOpen, down, v1alpha1.ActionAllow},
		{v1alpha1.FailOpen, errors.New("image x not found"), v1alpha1.ActionDeny}, // not an outage
	} {
		p, err := Compile(context.Background(), v1alpha1.ImagePolicy{FailureMode: c.mode}, nil)
		if err != nil {
			t.Fatal(err)
		}
		v := DecideError(p, "x", c.err)
		if v.Action != c.want || len(v.Reasons) == 0 {
			t.Errorf("mode %s, %v: got %s %q, want %s with a reason", c.mode, c.err, v.Action, v.Reasons, c.want)
		}
	}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name  string
		ip    v1alpha1.ImagePolicy
		field string
	}{
		{"bad glob", v1alpha1.ImagePolicy{TrustedRegistries: []string{"ghcr.io/acme/["}}, "spec.images.trustedRegistries[0]"},
		{"scheme in glob", v1alpha1.ImagePolicy{TrustedRegistries: []string{"https://ghcr.io/acme"}}, "spec.images.trustedRegistries[0]"},
		{"not PEM", v1alpha1.ImagePolicy{Authorities: []v1alpha1.Authority{{Name: "k", Key: &v1alpha1.KeyAuthority{PublicKey: "hello"}}}}, "spec.images.authorities[0].key.publicKey"},
		{"neither key nor keyless", v1alpha1.ImagePolicy{Authorities: []v1alpha1.Authority{{Name: "k"}}}, "spec.images.authorities[0]"},
		{"bad regexp", v1alpha1.ImagePolicy{Authorities: []v1alpha1.Authority{{Name: "k", Keyless: &v1alpha1.KeylessAuthority{
			Issuer: "https://issuer", SubjectRegExp: "(", TrustRoot: v1alpha1.TrustRoot{JSON: "{}"}}}}}, "spec.images.authorities[0].keyless.subjectRegExp"},
		{"bad trust root", v1alpha1.ImagePolicy{Authorities: []v1alpha1.Authority{{Name: "k", Keyless: &v1alpha1.KeylessAuthority{
			Issuer: "https://issuer", SubjectRegExp: ".*", TrustRoot: v1alpha1.TrustRoot{JSON: "not json"}}}}}, "spec.images.authorities[0]"},
		{"secret outside a cluster", v1alpha1.ImagePolicy{Authorities: []v1alpha1.Authority{{Name: "k", Key: &v1alpha1.KeyAuthority{
			SecretRef: &v1alpha1.SecretKeySelector{Namespace: "n", Name: "s", Key: "cosign.pub"}}}}}, "inline the value"},
		{"bad action", v1alpha1.ImagePolicy{Actions: v1alpha1.ImageActions{Model: "explode"}}, "spec.images.actions.model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(context.Background(), c.ip, nil)
			if err == nil {
				t.Fatal("compiled an invalid policy")
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %q", err, c.field)
			}
		})
	}
}
