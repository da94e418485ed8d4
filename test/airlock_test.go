package test

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/quarantine"
	"github.com/airlock-dev/airlock/test/testregistry"
	"github.com/airlock-dev/airlock/webhook"
)

// airlockNamespace is where the test controller keeps its certificate Secret.
const airlockNamespace = "airlock-system"

// startAirlock runs the controller as `airlock controller` does, against the test apiserver, with
// the webhooks served on a loopback port the apiserver calls over TLS. Registries are reached
// through the test registry's transport options.
// testAirlock is a running test controller.
type testAirlock struct {
	*webhook.Webhooks
	// Port is the webhook server's loopback port.
	Port int
	// Stop stops the controller (as a crash or a rollout would) and removes the webhook
	// configurations; it is also called when the test ends.
	Stop func()
}

func startAirlock(t testing.TB, regs ...*testregistry.Registry) *testAirlock {
	t.Helper()
	return startAirlockAs(t, env.Config, "", regs...)
}

// startAirlockAs runs the controller with the given credentials (a service account's, to test the
// chart's RBAC) and owner ClusterRole for the webhook configurations.
func startAirlockAs(t testing.TB, cfg *rest.Config, ownerClusterRole string, regs ...*testregistry.Registry) *testAirlock {
	t.Helper()
	ensureNamespace(t, airlockNamespace, nil)
	port := freePort(t)
	mgr, err := ctrl.NewManager(cfg, managerOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.Setup(mgr); err != nil {
		t.Fatal(err)
	}
	var opts webhook.Options
	opts.Namespace = airlockNamespace
	opts.OwnerClusterRole = ownerClusterRole
	opts.Host, opts.Port = "127.0.0.1", port
	opts.Endpoint = webhook.Endpoint{URL: "https://127.0.0.1:" + strconv.Itoa(port)}
	opts.CertIPs = []net.IP{net.ParseIP("127.0.0.1")}
	for _, reg := range regs {
		opts.RemoteOptions = append(opts.RemoteOptions, reg.RemoteOptions()...)
	}
	opts.Metrics = prometheus.NewRegistry() // each test's controller has its own
	opts.SelfUsernames = []string{whoAmI(t, cfg)}
	wh, err := webhook.Setup(mgr, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quarantine.Setup(mgr, quarantine.Isolation{IngressFromNamespace: airlockNamespace}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
			// Remove the configurations, so later tests' namespaces are not judged by a stopped webhook.
			vwc, mwc := webhook.Configurations("airlock", opts.Endpoint, nil, nil)
			_ = k8s.Delete(context.Background(), vwc)
			_ = k8s.Delete(context.Background(), mwc)
		})
	}
	t.Cleanup(stop)
	return &testAirlock{Webhooks: wh, Port: port, Stop: stop}
}

// whoAmI returns the user name the API server authenticates cfg as.
func whoAmI(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ssr := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(context.Background(), ssr); err != nil {
		t.Fatalf("who am I: %v", err)
	}
	return ssr.Status.UserInfo.Username
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ensureNamespace creates a namespace with labels, or does nothing if it exists.
func ensureNamespace(t testing.TB, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// newNamespace creates a fresh namespace in a mode ("" for none) and returns its name.
func newNamespace(t testing.TB, mode string, extra map[string]string) string {
	t.Helper()
	labels := map[string]string{}
	if mode != "" {
		labels[v1alpha1.LabelMode] = mode
	}
	for k, v := range extra {
		labels[k] = v
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-" + mode + "-", Labels: labels}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// warningClient is a client that records the API server's warnings.
type warningClient struct {
	client.Client
	mu       sync.Mutex
	warnings []string
}

func (w *warningClient) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	w.warnings = append(w.warnings, text)
	w.mu.Unlock()
}

func (w *warningClient) Warnings() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.warnings...)
}

func newWarningClient(t testing.TB) *warningClient {
	t.Helper()
	w := &warningClient{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandlerWithContext = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w.Client = c
	return w
}

// waitForWebhook waits until the API server calls the webhook (the CA bundle has propagated):
// a dry-run pod with an image of an untrusted registry is denied by Airlock.
func waitForWebhook(t testing.TB, ns, image string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err := createIn(ctx, k8s, ns, pod("probe", image), client.DryRunAll)
		// Denied by Airlock itself, not a failure to call it (whose message names the webhook too).
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "airlock: AirlockPolicy"), nil
	})
	if err != nil {
		t.Fatalf("the webhook never answered: %v", err)
	}
}

// pod returns a pod running one container per image.
func pod(name string, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + strconv.Itoa(i), Image: img})
	}
	return p
}

// createIn creates obj in namespace ns.
func createIn(ctx context.Context, c client.Client, ns string, obj client.Object, opts ...client.CreateOption) error {
	obj.SetNamespace(ns)
	return c.Create(ctx, obj, opts...)
}

// runManager starts mgr until the test ends, then stops it and reports its error.
func runManager(t testing.TB, mgr ctrl.Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// managerOptions are the manager options of a test controller: no metrics or health listeners, and
// controller names may repeat across the tests of this process.
func managerOptions() ctrl.Options {
	return ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr(true)}}
}
