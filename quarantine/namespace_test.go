package quarantine

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// TestQuarantinedPodChanged: only events that can change a namespace's set of quarantined pods
// reach the NetworkPolicy reconciler.
func TestQuarantinedPodChanged(t *testing.T) {
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "web"}}}
	quarantined := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "web", v1alpha1.LabelQuarantined: "true"}}}
	running := quarantined.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	p := quarantinedPodChanged
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"create plain", p.Create(event.CreateEvent{Object: plain}), false},
		{"create quarantined", p.Create(event.CreateEvent{Object: quarantined}), true},
		{"delete plain", p.Delete(event.DeleteEvent{Object: plain}), false},
		{"delete quarantined", p.Delete(event.DeleteEvent{Object: quarantined}), true},
		{"label set", p.Update(event.UpdateEvent{ObjectOld: plain, ObjectNew: quarantined}), true},
		{"label removed", p.Update(event.UpdateEvent{ObjectOld: quarantined, ObjectNew: plain}), true},
		{"status of a quarantined pod", p.Update(event.UpdateEvent{ObjectOld: quarantined, ObjectNew: running}), false},
		{"status of a plain pod", p.Update(event.UpdateEvent{ObjectOld: plain, ObjectNew: plain}), false},
		{"resync of a quarantined pod", p.Generic(event.GenericEvent{Object: quarantined}), true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: passed %t, want %t", tc.name, tc.got, tc.want)
		}
	}
}
