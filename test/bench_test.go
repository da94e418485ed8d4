package test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
)

// BenchmarkPodCreate measures pod creations through the API server, in parallel, in a namespace
// the webhook skips and in an enforce namespace where both webhooks judge a 3-container pod whose
// images are cached (the steady state of a rollout). Between them, the floor of any webhook: a
// mutating webhook that judges nothing (see startMinimalWebhook), answering without a patch, and with
// the one-operation patch that writing an annotation takes. AIRLOCK_BENCH_PIN=1 pins the control
// plane to one CPU and the test process to the other (see pinControlPlane).
func BenchmarkPodCreate(b *testing.B) {
	f := newAdmissionFixture(b)
	createPolicies(b, f.key, f.reg.Host)
	startAirlock(b, f.reg)
	enforce := newNamespace(b, v1alpha1.ModeEnforce, nil)
	off := newNamespace(b, "", nil)
	noPatch := newNamespace(b, "", map[string]string{minimalWebhookLabel: "allow"})
	patch := newNamespace(b, "", map[string]string{minimalWebhookLabel: "patch"})
	startMinimalWebhook(b, patch)
	waitForWebhook(b, enforce, f.untrusted)
	// envtest's client is limited to 1,000 requests/s, which would cap both runs alike.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("AIRLOCK_BENCH_PIN") != "" {
		pinControlPlane(b)
	}
	images := []string{f.signed, f.signed, f.signed}
	controlPlane := controlPlanePIDs(b)
	var n atomic.Int64
	for _, tc := range []struct{ name, ns string }{
		{"without-webhook", off},
		{"minimal-webhook", noPatch},
		{"minimal-webhook-patch", patch},
		{"with-webhook", enforce},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(8) // 16 concurrent clients on 2 cores
			cpu := cpuTime(b, controlPlane)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := pod("bench-"+strconv.FormatInt(n.Add(1), 10), images...)
					if err := createIn(context.Background(), c, tc.ns, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
			// The control plane's CPU per pod: what the webhooks cost the API server itself.
			b.ReportMetric(float64((cpuTime(b, controlPlane)-cpu).Microseconds())/float64(b.N), "cp-cpu-µs/pod")
		})
	}
}

// pinControlPlane runs kube-apiserver and etcd on CPU 0 and this process (clients and webhook)
// on CPU 1, as if the control plane had its own node: the webhook's own CPU then no longer
// competes with the API server's, and what remains is the API server's cost of calling it.
func pinControlPlane(b *testing.B) {
	for _, pid := range controlPlanePIDs(b) {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", pid).CombinedOutput(); err != nil {
			b.Fatalf("pinning %s: %v: %s", pid, err, out)
		}
	}
	if out, err := exec.Command("taskset", "-a", "-p", "-c", "1", strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		b.Fatalf("pinning the test process: %v: %s", err, out)
	}
}

// controlPlanePIDs finds the kube-apiserver and etcd processes of the test environment.
func controlPlanePIDs(b *testing.B) []string {
	var pids []string
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		out, err := exec.Command("pgrep", "-f", filepath.Join(env.BinaryAssetsDirectory, bin)).Output()
		if err != nil {
			b.Fatalf("finding %s: %v", bin, err)
		}
		pids = append(pids, strings.Fields(string(out))...)
	}
	return pids
}

// cpuTime sums the user and system CPU time the processes have used (/proc/PID/stat).
func cpuTime(b *testing.B, pids []string) time.Duration {
	var ticks int64
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			b.Fatal(err)
		}
		// Fields after the command name, which is parenthesised and may hold spaces: utime and
		// stime are the 12th and 13th.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		for _, f := range fields[11:13] {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
