package v1alpha1

// Labels and annotations of the user-facing contract (DESIGN.md). Their names are fixed.
const (
	// LabelMode on a Namespace turns Airlock on: "enforce" (deny or quarantine) or "audit"
	// (record only). Absent or "off", Airlock does nothing there.
	LabelMode = "airlock.dev/mode"
	// ModeEnforce and ModeAudit are the values of LabelMode that Airlock acts on.
	ModeEnforce = "enforce"
	ModeAudit   = "audit"

	// AnnotationQuarantine "true" on a Pod or workload asks for quarantine; removing it or "false"
	// releases.
	AnnotationQuarantine = "airlock.dev/quarantine"
	// AnnotationQuarantineReason says why a workload is quarantined.
	AnnotationQuarantineReason = "airlock.dev/quarantine-reason"
	// AnnotationQuarantinedBy names who asked for the quarantine (the requesting user at admission).
	AnnotationQuarantinedBy = "airlock.dev/quarantined-by"
	// AnnotationQuarantinedAt records when the reconciler quarantined the workload.
	AnnotationQuarantinedAt = "airlock.dev/quarantined-at"
	// LabelQuarantined "true" marks pods the reconciler isolated; only the reconciler writes it.
	LabelQuarantined = "airlock.dev/quarantined"

	// AnnotationVerdict summarises the classification of each image, written by the mutating
	// webhook so `kubectl describe` shows why a workload was admitted, quarantined or flagged.
	AnnotationVerdict = "airlock.dev/verdict"
	// AnnotationAdmittedImages lists, in pod-spec order and comma-separated, the image references
	// the mutating webhook admitted with a plain allow. On a create whose images still read so, the
	// API server skips the validating webhook (a match condition): the common case costs one
	// webhook call, not two. Any other verdict removes it.
	AnnotationAdmittedImages = "airlock.dev/admitted-images"
)
