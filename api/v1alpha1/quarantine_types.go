package v1alpha1

import "strings"

// QuarantinePolicy says who may lift a quarantine in the namespaces the policy selects.
type QuarantinePolicy struct {
	// Admins may remove or change the airlock.dev/quarantine* annotations of Pods and workloads
	// (release them). Anyone who may update a workload may quarantine it; only admins and
	// Airlock itself may release it. Omitted, only Airlock's own service account can (for
	// example when a quarantine TTL expires).
	// +optional
	Admins QuarantineAdmins `json:"admins,omitempty"`
}

// QuarantineAdmins name identities as the API server authenticates them.
type QuarantineAdmins struct {
	// Users are user names ("alice@example.com").
	// +optional
	// +listType=set
	Users []string `json:"users,omitempty"`
	// Groups are group names ("platform-admins").
	// +optional
	// +listType=set
	Groups []string `json:"groups,omitempty"`
	// ServiceAccounts are "namespace/name" pairs ("ci/release-bot").
	// +optional
	// +listType=set
	ServiceAccounts []string `json:"serviceAccounts,omitempty"`
}

// Allows reports whether the user (name and groups, as in an admission request) is an admin.
func (a QuarantineAdmins) Allows(user string, groups []string) bool {
	for _, u := range a.Users {
		if u == user {
			return true
		}
	}
	for _, sa := range a.ServiceAccounts {
		if "system:serviceaccount:"+strings.Replace(sa, "/", ":", 1) == user {
			return true
		}
	}
	for _, g := range a.Groups {
		for _, ug := range groups {
			if g == ug {
				return true
			}
		}
	}
	return false
}
