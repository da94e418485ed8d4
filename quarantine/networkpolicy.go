package quarantine

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// PolicyName names the NetworkPolicy (and CiliumNetworkPolicy) in each namespace with quarantined pods.
const PolicyName = "airlock-quarantine"

// ProxyLabel selects the namespace's egress-proxy pods, the one way out of quarantine.
const ProxyLabel = "app.kubernetes.io/name"

// ProxyLabelValue is ProxyLabel's value on the egress proxy.
const ProxyLabelValue = "airlock-proxy"

// Isolation configures what quarantined pods may still reach and be reached by.
type Isolation struct {
	// IngressFromNamespace, when set, may reach quarantined pods (Airlock's namespace, for health
	// checks and the proxy's replies). Empty: no ingress at all.
	IngressFromNamespace string
	// DNSNamespace and DNSPodLabels select the cluster DNS pods. Defaults: kube-system,
	// k8s-app=kube-dns (CoreDNS keeps that label).
	DNSNamespace string
	DNSPodLabels map[string]string
}

func (i Isolation) dns() (string, map[string]string) {
	ns, labels := i.DNSNamespace, i.DNSPodLabels
	if ns == "" {
		ns = "kube-system"
	}
	if len(labels) == 0 {
		labels = map[string]string{"k8s-app": "kube-dns"}
	}
	return ns, labels
}

// quarantinedSelector selects the pods the reconciler labelled, and only them.
func quarantinedSelector() metav1.LabelSelector {
	return metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelQuarantined: "true"}}
}

// NetworkPolicy renders the isolating policy of one namespace: no ingress (but from
// IngressFromNamespace), egress only to cluster DNS on port 53 (UDP and TCP) and to the
// namespace's egress-proxy pods.
func (i Isolation) NetworkPolicy(namespace string) *networkingv1.NetworkPolicy {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dnsPort := intstr.FromInt32(53)
	dnsNS, dnsLabels := i.dns()
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "airlock"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: quarantinedSelector(),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{
					To: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": dnsNS}},
						PodSelector:       &metav1.LabelSelector{MatchLabels: dnsLabels},
					}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dnsPort}, {Protocol: &tcp, Port: &dnsPort}},
				},
				{
					To: []networkingv1.NetworkPolicyPeer{{
						PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{ProxyLabel: ProxyLabelValue}},
					}},
				},
			},
		},
	}
	if i.IngressFromNamespace != "" {
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": i.IngressFromNamespace}},
		}}}}
	}
	return np
}
