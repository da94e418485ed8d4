package redact

import (
	"encoding/json"
	"fmt"
)

// Risk ranks findings by how much harm a leak does.
type Risk int

// Risks, from least to most severe.
const (
	RiskLow Risk = iota + 1
	RiskMedium
	RiskHigh
	RiskCritical
)

var riskNames = map[Risk]string{RiskLow: "low", RiskMedium: "medium", RiskHigh: "high", RiskCritical: "critical"}

func (r Risk) String() string {
	if s, ok := riskNames[r]; ok {
		return s
	}
	return fmt.Sprintf("risk(%d)", int(r))
}

// MarshalJSON writes the risk's name.
func (r Risk) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// Finding is one sensitive value: what it is and where, never the value itself, so findings can be
// logged, counted and exported safely.
type Finding struct {
	// Type is what was found ("ssn", "credit_card", "aws_access_key_id", ...).
	Type string `json:"type"`
	// Rule is the detector that found it.
	Rule string `json:"rule"`
	Risk Risk   `json:"risk"`
	// Start and End are byte offsets in the input: [Start, End).
	Start int `json:"start"`
	End   int `json:"end"`
}
