// Package quarantine isolates suspicious workloads. A Pod, or a workload that owns it (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), asks for quarantine with the annotation
// airlock.dev/quarantine: "true"; the reconcilers here then
//
//   - label every affected pod airlock.dev/quarantined: "true" (PodReconciler), and nothing else:
//     siblings of a quarantined Pod keep their traffic;
//   - keep, in each namespace with a quarantined pod, one NetworkPolicy (and a
//     CiliumNetworkPolicy where Cilium's CRDs exist) selecting that label: no ingress but from
//     Airlock's namespace, egress only to cluster DNS and the namespace's egress-proxy pods
//     (NamespaceReconciler); when no pod is quarantined any more, both are deleted;
//   - release on removal of the annotation, on "false", or when airlock.dev/quarantine-ttl has
//     passed since airlock.dev/quarantined-at.
//
// Both reconcilers are level-based and idempotent: they compute the wanted state from what is in
// the cluster and converge to it, so a restart mid-way, or two quarantines at once, end in the same
// state. The admission webhook keeps anyone but quarantine admins from lifting a quarantine.
package quarantine
