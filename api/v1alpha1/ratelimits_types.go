package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RateLimit meters calls to sensitive endpoints per namespace: every namespace the policy selects
// has its own token buckets, one for requests and one for LLM tokens, shared by every replica of
// the rate limiter (through Redis).
type RateLimit struct {
	// Name identifies the limit in response headers (RateLimit-Policy), metrics and bucket keys,
	// for example "openai". Unique within the policy.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Endpoints are the calls the limit meters: a host, exact ("api.openai.com") or a wildcard
	// subdomain ("*.openai.azure.com"), and an optional path prefix. Omitted or empty, every
	// endpoint. Of several limits matching a call, each is applied: the call goes through only if
	// all of them admit it.
	// +optional
	Endpoints []EndpointMatch `json:"endpoints,omitempty"`

	// Requests is how many calls a namespace may make. Omitted, calls are not counted.
	// +optional
	Requests *Quota `json:"requests,omitempty"`

	// Tokens is how many LLM tokens (prompt and completion) a namespace may spend. Callers reserve
	// an estimate before a call and settle with the provider's reported usage after it. Omitted,
	// tokens are not counted.
	// +optional
	Tokens *Quota `json:"tokens,omitempty"`

	// FailureMode says what happens when the shared counter (Redis) cannot be reached. "open"
	// (the default) keeps admitting against a local bucket on each replica holding capacity/N and
	// rate/N (N the replica count the rate limiter is configured with), so the total stays about
	// the same and is never unlimited; "closed" denies every call until the counter is back.
	// +kubebuilder:validation:Enum=open;closed
	// +optional
	FailureMode FailureMode `json:"failureMode,omitempty"`

	// StopStreams, when true, tells a caller settling a stream's usage as it goes to stop the
	// stream once the token budget is spent. Omitted or false, an admitted stream runs to its end
	// and its overrun is charged to the budget, delaying the namespace's next calls.
	// +optional
	StopStreams bool `json:"stopStreams,omitempty"`
}

// EndpointMatch selects calls by host and path.
type EndpointMatch struct {
	// Host is the called host without port: "api.anthropic.com", or "*.openai.azure.com" for any
	// subdomain of openai.azure.com.
	// +kubebuilder:validation:MinLength=1
	Host string `json:"host"`

	// PathPrefix, for example "/v1/chat/", restricts the match to paths starting with it.
	// Omitted, every path.
	// +optional
	PathPrefix string `json:"pathPrefix,omitempty"`
}

// Quota is a token bucket: Amount units refill every Per, up to Burst.
type Quota struct {
	// Amount is how many units refill every Per, for example 100.
	// +kubebuilder:validation:Minimum=1
	Amount int64 `json:"amount"`

	// Per is the refill period, for example "1m" or "24h". Omitted, one minute.
	// +optional
	Per *metav1.Duration `json:"per,omitempty"`

	// Burst is the bucket's capacity: how many units can be spent at once after a quiet period.
	// Omitted or 0, Amount.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Burst int64 `json:"burst,omitempty"`
}

// DefaultQuotaPeriod is a Quota's period when Per is omitted.
const DefaultQuotaPeriod = time.Minute

// Period returns Per, or its default.
func (q *Quota) Period() time.Duration {
	if q.Per == nil || q.Per.Duration <= 0 {
		return DefaultQuotaPeriod
	}
	return q.Per.Duration
}

// Capacity returns Burst, or Amount when Burst is omitted.
func (q *Quota) Capacity() int64 {
	if q.Burst > 0 {
		return q.Burst
	}
	return q.Amount
}
