package quarantine

import (
	"context"
	"fmt"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/policy/api"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// CiliumPolicyGVK is the kind whose presence turns on CiliumNetworkPolicies.
var CiliumPolicyGVK = schema.GroupVersionKind{Group: "cilium.io", Version: "v2", Kind: "CiliumNetworkPolicy"}

// CiliumInstalled reports whether the cluster serves CiliumNetworkPolicies, asking the API's
// discovery through the REST mapper.
func CiliumInstalled(mapper meta.RESTMapper) (bool, error) {
	_, err := mapper.RESTMapping(CiliumPolicyGVK.GroupKind(), CiliumPolicyGVK.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}

func newCNP() client.Object { return &ciliumv2.CiliumNetworkPolicy{} }

func k8sLabel(k, v string) labels.Label { return labels.NewLabel(k, v, labels.LabelSourceK8s) }

// CiliumNetworkPolicy renders the same isolation as NetworkPolicy with Cilium's own types, and
// checks it with Cilium's own sanitising before it is applied.
func (i Isolation) CiliumNetworkPolicy(namespace string) (*ciliumv2.CiliumNetworkPolicy, error) {
	dnsNS, dnsLabels := i.dns()
	dnsSel := []labels.Label{k8sLabel("io.kubernetes.pod.namespace", dnsNS)}
	for k, v := range dnsLabels {
		dnsSel = append(dnsSel, k8sLabel(k, v))
	}
	rule := &api.Rule{
		EndpointSelector: api.NewESFromLabels(k8sLabel(v1alpha1.LabelQuarantined, "true")),
		// An ingress section with one empty rule turns on default-deny for ingress in Cilium;
		// without it, ingress would not be enforced at all.
		Ingress: []api.IngressRule{{}},
		Egress: []api.EgressRule{
			{
				EgressCommonRule: api.EgressCommonRule{ToEndpoints: []api.EndpointSelector{api.NewESFromLabels(dnsSel...)}},
				ToPorts: api.PortRules{{Ports: []api.PortProtocol{
					{Port: "53", Protocol: api.ProtoUDP}, {Port: "53", Protocol: api.ProtoTCP},
				}}},
			},
			{
				EgressCommonRule: api.EgressCommonRule{ToEndpoints: []api.EndpointSelector{api.NewESFromLabels(
					k8sLabel(ProxyLabel, ProxyLabelValue), k8sLabel("io.kubernetes.pod.namespace", namespace))}},
			},
		},
	}
	if i.IngressFromNamespace != "" {
		rule.Ingress = []api.IngressRule{{IngressCommonRule: api.IngressCommonRule{FromEndpoints: []api.EndpointSelector{
			api.NewESFromLabels(k8sLabel("io.kubernetes.pod.namespace", i.IngressFromNamespace)),
		}}}}
	}
	if err := rule.Sanitize(); err != nil {
		return nil, fmt.Errorf("the quarantine CiliumNetworkPolicy does not pass Cilium's validation: %w", err)
	}
	return &ciliumv2.CiliumNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "airlock"}},
		Spec:       rule,
	}, nil
}

func (r *NamespaceReconciler) ensureCNP(ctx context.Context, ns string) error {
	want, err := r.Isolation.CiliumNetworkPolicy(ns)
	if err != nil {
		return err
	}
	have := &ciliumv2.CiliumNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: ns}}
	return r.apply(ctx, have, func() { have.Labels, have.Spec = want.Labels, want.Spec })
}

// AddCiliumToScheme registers Cilium's policy types.
var AddCiliumToScheme = ciliumv2.AddToScheme
