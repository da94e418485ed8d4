package quarantine

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Setup adds both reconcilers to a manager. Cilium's CRD is looked up once through discovery:
// when it is served, CiliumNetworkPolicies are kept too (restart the controller after installing
// Cilium). It returns whether Cilium was found.
func Setup(mgr ctrl.Manager, iso Isolation) (cilium bool, err error) {
	cilium, err = CiliumInstalled(mgr.GetRESTMapper())
	if err != nil {
		return false, fmt.Errorf("asking the API whether Cilium is installed: %w", err)
	}
	pods := &PodReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("airlock-quarantine")}
	if err := pods.SetupWithManager(mgr); err != nil {
		return false, err
	}
	ns := &NamespaceReconciler{Client: mgr.GetClient(), Isolation: iso, Cilium: cilium}
	return cilium, ns.SetupWithManager(mgr)
}
