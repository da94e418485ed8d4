// Package redact finds sensitive values in text and redacts them, whole or as a stream. It does
// no I/O and knows nothing of Kubernetes, so it can be fuzzed and benchmarked alone.
//
// A Detector is data: a regular expression that proposes candidates, the keywords that must
// appear for it to run at all, and a validator that accepts or rejects each candidate with the
// bytes around it (Luhn for cards, area rules for SSNs, mod-97 for IBANs). Findings carry a type,
// a risk and a byte span, never the value.
//
// Detection is position-local: a candidate depends only on the bytes from Context before it to
// Context after it, and regular expressions use no anchors or \b (validators check boundaries), so
// a Stream that holds back MaxLen+Context bytes redacts exactly as the whole-buffer Redact does,
// however the input is cut into writes.
package redact
