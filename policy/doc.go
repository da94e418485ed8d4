// Package policy serves AirlockPolicies to the rest of Airlock: it validates and compiles them,
// reports the outcome in status conditions (the Reconciler), and reads them from YAML files for
// use without a cluster (`airlock scan --policy`, `airlock policy test`).
package policy
