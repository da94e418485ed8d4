package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AirlockPolicy is Airlock's policy as code. It is cluster-scoped and applies to the namespaces its
// namespaceSelector selects (and that carry the airlock.dev/mode label). When several policies select
// one namespace, the one whose name sorts first wins, so the outcome never depends on watch order.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=ap;apol,categories=airlock
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AirlockPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AirlockPolicySpec   `json:"spec,omitempty"`
	Status AirlockPolicyStatus `json:"status,omitempty"`
}

// AirlockPolicyList is a list of AirlockPolicy.
//
// +kubebuilder:object:root=true
type AirlockPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AirlockPolicy `json:"items"`
}

// AirlockPolicySpec says where a policy applies and what it enforces there.
type AirlockPolicySpec struct {
	// NamespaceSelector selects the namespaces the policy applies to. Omitted, it selects every
	// namespace; an empty selector ({}) does too. Namespaces without the airlock.dev/mode label are
	// never touched, whatever this says.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Images says which images may run: trusted registries, signature authorities, and what to do
	// with each finding. Omitted, the secure defaults documented on ImagePolicy apply.
	// +optional
	Images ImagePolicy `json:"images,omitempty"`

	// Quarantine says who may release quarantined workloads.
	// +optional
	Quarantine QuarantinePolicy `json:"quarantine,omitempty"`

	// RateLimits meter sensitive endpoints (LLM APIs, internal services) per namespace, in
	// requests and LLM tokens. Omitted, nothing is rate limited.
	// +optional
	// +listType=map
	// +listMapKey=name
	RateLimits []RateLimit `json:"rateLimits,omitempty"`
}

// AirlockPolicyStatus reports whether the policy is valid and where it applies.
type AirlockPolicyStatus struct {
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: "Valid" is True when the policy compiled (keys parsed, regular expressions
	// compiled, trust roots loaded), False with a message naming the field and the fix otherwise.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ConditionValid is the condition type that says whether a policy compiled.
const ConditionValid = "Valid"

// Reasons of the Valid condition.
const (
	// ReasonCompiled: the policy is valid and in force.
	ReasonCompiled = "Compiled"
	// ReasonInvalid: the policy could not be compiled; the message names the field and the fix.
	ReasonInvalid = "Invalid"
)

func init() {
	SchemeBuilder.Register(&AirlockPolicy{}, &AirlockPolicyList{})
}
