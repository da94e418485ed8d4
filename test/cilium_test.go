package test

import (
	"context"
	"testing"

	ciliumcrds "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/client/crds/v2"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/quarantine"
)

// TestCiliumNetworkPolicyWhereCiliumRuns installs Cilium's own CiliumNetworkPolicy CRD (shipped in
// Cilium's module) and checks that a quarantine then also creates a CiliumNetworkPolicy, which the
// API server accepts against Cilium's schema, and that release removes it. Every other quarantine
// test runs without the CRD and sees only the NetworkPolicy.
func TestCiliumNetworkPolicyWhereCiliumRuns(t *testing.T) {
	ctx := testContext(t)
	raw, err := ciliumcrds.EmbedFS.ReadFile("ciliumnetworkpolicies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(raw, crd); err != nil {
		t.Fatal(err)
	}
	opts := envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{crd}}
	if _, err := envtest.InstallCRDs(env.Config, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = envtest.UninstallCRDs(env.Config, opts) })

	qf := newQuarantineFixture(t) // starts the controller after the CRD exists
	if err := annotate(ctx, k8s, qf.victim, map[string]*string{v1alpha1.AnnotationQuarantine: str("true")}); err != nil {
		t.Fatal(err)
	}
	var cnp ciliumv2.CiliumNetworkPolicy
	eventually(t, "CiliumNetworkPolicy created", func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: qf.ns, Name: quarantine.PolicyName}, &cnp)
		return err == nil, client.IgnoreNotFound(err)
	})
	if cnp.Spec == nil || len(cnp.Spec.Egress) != 2 || cnp.Spec.EndpointSelector.LabelSelector.MatchLabels["k8s:"+v1alpha1.LabelQuarantined] != "true" {
		t.Errorf("CiliumNetworkPolicy spec: %+v", cnp.Spec)
	}
	if nps := policiesIn(ctx, t, qf.ns); len(nps) != 1 {
		t.Errorf("%d NetworkPolicies beside the CiliumNetworkPolicy, want 1", len(nps))
	}
	if err := annotate(ctx, k8s, qf.victim, map[string]*string{v1alpha1.AnnotationQuarantine: nil}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "CiliumNetworkPolicy removed on release", func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: qf.ns, Name: quarantine.PolicyName}, &ciliumv2.CiliumNetworkPolicy{})
		return err != nil, client.IgnoreNotFound(err)
	})
}
