package test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/test/testregistry"
)

// startPolicyController runs the AirlockPolicy status reconciler against the test apiserver.
func startPolicyController(t *testing.T) {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, managerOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.Setup(mgr); err != nil {
		t.Fatal(err)
	}
	runManager(t, mgr)
}

// validCondition waits until the policy's Valid condition describes its current generation.
func validCondition(t *testing.T, name string) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	err := wait.PollUntilContextTimeout(testContext(t), 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		var p v1alpha1.AirlockPolicy
		if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &p); err != nil {
			return false, err
		}
		got = meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionValid)
		return got != nil && got.ObservedGeneration == p.Generation, nil
	})
	if err != nil {
		t.Fatalf("policy %s never got a Valid condition for its generation: %v (last: %+v)", name, err, got)
	}
	return got
}

func TestAirlockPolicyStatus(t *testing.T) {
	startPolicyController(t)
	key, err := testregistry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	create := func(t *testing.T, name string, images v1alpha1.ImagePolicy) {
		t.Helper()
		p := &v1alpha1.AirlockPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.AirlockPolicySpec{Images: images}}
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), p) })
	}

	t.Run("valid policy", func(t *testing.T) {
		create(t, "valid", v1alpha1.ImagePolicy{
			TrustedRegistries: []string{"ghcr.io/acme/**"},
			Authorities:       []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{PublicKey: string(key.PublicPEM)}}},
		})
		c := validCondition(t, "valid")
		if c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonCompiled {
			t.Errorf("Valid = %s/%s %q, want True/Compiled", c.Status, c.Reason, c.Message)
		}
		// The API server applied the CRD's defaults.
		var p v1alpha1.AirlockPolicy
		if err := k8s.Get(ctx, client.ObjectKey{Name: "valid"}, &p); err != nil {
			t.Fatal(err)
		}
		if a := p.Spec.Images.Actions; a.Unsigned != v1alpha1.ActionDeny || a.Model != v1alpha1.ActionQuarantine || p.Spec.Images.FailureMode != v1alpha1.FailClosed {
			t.Errorf("defaults not applied: actions %+v, failureMode %q", a, p.Spec.Images.FailureMode)
		}
	})

	t.Run("invalid key gets a message naming the field", func(t *testing.T) {
		create(t, "bad-key", v1alpha1.ImagePolicy{
			Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{PublicKey: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"}}},
		})
		c := validCondition(t, "bad-key")
		if c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonInvalid ||
			!strings.Contains(c.Message, "spec.images.authorities[0].key.publicKey") {
			t.Errorf("Valid = %s/%s %q, want False/Invalid naming spec.images.authorities[0].key.publicKey", c.Status, c.Reason, c.Message)
		}
	})

	t.Run("bad glob", func(t *testing.T) {
		create(t, "bad-glob", v1alpha1.ImagePolicy{TrustedRegistries: []string{"https://ghcr.io/acme"}})
		c := validCondition(t, "bad-glob")
		if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "spec.images.trustedRegistries[0]") ||
			!strings.Contains(c.Message, "without a scheme") {
			t.Errorf("Valid = %s %q, want False with a message naming the glob and the fix", c.Status, c.Message)
		}
	})

	t.Run("key in a Secret, missing then created", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "keys-"}}
		if err := k8s.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		ref := &v1alpha1.SecretKeySelector{Namespace: ns.Name, Name: "cosign", Key: "cosign.pub"}
		create(t, "secret-key", v1alpha1.ImagePolicy{Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{SecretRef: ref}}}})
		c := validCondition(t, "secret-key")
		if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "secret "+ns.Name+"/cosign") {
			t.Errorf("missing Secret: Valid = %s %q, want False naming the Secret", c.Status, c.Message)
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "cosign"}, Data: map[string][]byte{"cosign.pub": key.PublicPEM}}
		if err := k8s.Create(ctx, sec); err != nil {
			t.Fatal(err)
		}
		// Touch the policy so it is compiled again now rather than at the periodic recheck.
		var p v1alpha1.AirlockPolicy
		if err := k8s.Get(ctx, client.ObjectKey{Name: "secret-key"}, &p); err != nil {
			t.Fatal(err)
		}
		p.Spec.Images.TrustedRegistries = []string{"ghcr.io/acme/*"}
		if err := k8s.Update(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if c := validCondition(t, "secret-key"); c.Status != metav1.ConditionTrue {
			t.Errorf("with the Secret: Valid = %s %q, want True", c.Status, c.Message)
		}
	})

	t.Run("schema rejects an unknown action", func(t *testing.T) {
		p := &v1alpha1.AirlockPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-action"},
			Spec: v1alpha1.AirlockPolicySpec{Images: v1alpha1.ImagePolicy{Actions: v1alpha1.ImageActions{Model: "explode"}}}}
		err := k8s.Create(ctx, p)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.images.actions.model") {
			t.Errorf("create = %v, want Invalid naming spec.images.actions.model", err)
		}
	})
}
