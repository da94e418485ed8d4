// Package webhook is Airlock's admission control: a validating and a mutating webhook that judge
// every image of Pods and of the pod templates of Deployments, StatefulSets, DaemonSets,
// ReplicaSets, Jobs and CronJobs, against the AirlockPolicy that selects the namespace.
//
// The mutating webhook records the verdict (airlock.dev/verdict) and, in enforce namespaces,
// admits-and-quarantines (airlock.dev/quarantine and friends); the validating webhook denies,
// and in audit namespaces only warns and records an Event. Neither ever rewrites an image
// reference: GitOps tools compare what they applied with what they read back.
//
// Classification (webhook/classify) is cached per digest, so the two webhooks, the workload and
// its pods share one registry lookup per distinct image.
package webhook
