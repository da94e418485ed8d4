// Command demo is `make demo`: a local kube-apiserver and etcd (the test binaries), an in-process OCI
// registry with signed, unsigned and AI model images, and the real `airlock controller` binary
// against them. It applies policies/demo.yaml and sample workloads, prints what happened to each,
// then leaves everything running for kubectl until Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/airlock-dev/airlock/api/v1alpha1"
	"github.com/airlock-dev/airlock/policy"
	"github.com/airlock-dev/airlock/test/controlplane"
	"github.com/airlock-dev/airlock/test/testregistry"
)

// out receives the demo's report; tests capture it.
var out io.Writer = os.Stdout

func main() {
	airlock := flag.String("airlock", "bin/airlock", "path of the airlock binary")
	stateDir := flag.String("dir", "bin/demo", "directory for the kubeconfig and the controller's log")
	exitAfter := flag.Bool("exit", false, "stop after printing the verdicts instead of waiting for Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *airlock, *stateDir, *exitAfter); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	k8s                                       client.Client
	cfg                                       *rest.Config
	reg                                       *testregistry.Registry
	web, tool, forged, server, model, toolTag string
}

func run(ctx context.Context, airlockBin, stateDir string, exitAfter bool) (err error) {
	ctrl.SetLogger(logr.Discard())
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	step("starting kube-apiserver and etcd")
	env, err := controlplane.Start()
	if err != nil {
		return err
	}
	defer func() {
		step("stopping the control plane")
		if serr := env.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	if len(env.KubeConfig) == 0 {
		return errors.New("envtest wrote no kubeconfig")
	}
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		return err
	}
	k8s, err := client.New(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}

	step("starting an OCI registry and pushing sample images")
	d := &demo{k8s: k8s, cfg: env.Config, reg: testregistry.New()}
	defer d.reg.Close()
	key, err := d.images()
	if err != nil {
		return err
	}

	step("installing policies/demo.yaml and the demo signing key")
	if err := d.install(ctx, key); err != nil {
		return err
	}

	step("starting airlock controller (log: " + filepath.Join(stateDir, "controller.log") + ")")
	cmd, err := startController(ctx, airlockBin, kubeconfig, filepath.Join(stateDir, "controller.log"))
	if err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	if err := d.waitReady(ctx); err != nil {
		return err
	}

	fmt.Fprintln(out)
	d.workloads(ctx)
	fmt.Fprintf(out, `
Airlock is running. Try it:
  export KUBECONFIG=%s
  kubectl get airlockpolicies
  kubectl -n demo-enforce get pods -o custom-columns=NAME:.metadata.name,QUARANTINE:.metadata.annotations.airlock\.dev/quarantine
  kubectl -n demo-enforce run probe --image=%s     # denied
(kubectl: bin/k8s/kubectl after make demo)
`, mustAbs(kubeconfig), d.toolTag)
	if exitAfter {
		return nil
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(out)
	return nil
}

func (d *demo) images() (*testregistry.Key, error) {
	key, err := testregistry.NewKey()
	if err != nil {
		return nil, err
	}
	other, err := testregistry.NewKey()
	if err != nil {
		return nil, err
	}
	push := func(repo string, img testregistry.Image, k *testregistry.Key) (string, error) {
		dg, err := d.reg.PushImage(repo, "v1", img)
		if err != nil {
			return "", err
		}
		if k != nil {
			if err := d.reg.Sign(dg, k); err != nil {
				return "", err
			}
		}
		return d.reg.Ref(repo, ":v1"), nil
	}
	var errs []error
	var e error
	d.web, e = push("trusted/web", testregistry.Image{Cmd: []string{"/web"}}, key)
	errs = append(errs, e)
	d.tool, e = push("untrusted/tool", testregistry.Image{Cmd: []string{"/tool"}}, nil)
	errs = append(errs, e)
	d.toolTag = d.tool
	d.forged, e = push("trusted/payments", testregistry.Image{Cmd: []string{"/pay"}}, other)
	errs = append(errs, e)
	d.server, e = push("trusted/vllm-server", testregistry.Image{Entrypoint: []string{"python3", "-m", "vllm.entrypoints.openai.api_server"}}, key)
	errs = append(errs, e)
	md, e := d.reg.PushModel("trusted/models/llama", "q4", testregistry.ModelPack)
	errs = append(errs, e)
	if e == nil {
		errs = append(errs, d.reg.Sign(md, key))
		d.model = d.reg.Ref("trusted/models/llama", ":q4")
	}
	return key, errors.Join(errs...)
}

func (d *demo) install(ctx context.Context, key *testregistry.Key) error {
	for _, ns := range []struct{ name, mode string }{{"airlock-system", ""}, {"demo-enforce", "enforce"}, {"demo-audit", "audit"}, {"demo-off", ""}} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name}}
		if ns.mode != "" {
			n.Labels = map[string]string{v1alpha1.LabelMode: ns.mode}
		}
		if err := d.k8s.Create(ctx, n); err != nil {
			return err
		}
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "airlock-system", Name: "demo-cosign"},
		Data: map[string][]byte{"cosign.pub": key.PublicPEM}}
	if err := d.k8s.Create(ctx, sec); err != nil {
		return err
	}
	ps, err := policy.LoadFile(filepath.Join(controlplane.Root(), "policies", "demo.yaml"))
	if err != nil {
		return err
	}
	for i := range ps {
		if err := d.k8s.Create(ctx, &ps[i]); err != nil {
			return err
		}
	}
	return nil
}

// waitReady waits for the policy to be Valid and for the webhook to judge.
func (d *demo) waitReady(ctx context.Context) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var p v1alpha1.AirlockPolicy
		if err := d.k8s.Get(ctx, client.ObjectKey{Name: "demo"}, &p); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionValid)
		if c == nil {
			return false, nil
		}
		if c.Status != metav1.ConditionTrue {
			return false, fmt.Errorf("policy demo is invalid: %s", c.Message)
		}
		probe := pod("probe", d.tool)
		probe.Namespace = "demo-enforce"
		err := d.k8s.Create(ctx, probe, client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "airlock"), nil
	})
	if err != nil {
		return fmt.Errorf("airlock did not become ready (see the controller log): %w", err)
	}
	fmt.Fprintln(out, "  policy demo: Valid; webhooks answering")
	return nil
}

// workloads applies the sample workloads and prints what happened to each.
func (d *demo) workloads(ctx context.Context) {
	llm := pod("llm", d.server)
	llm.Spec.Volumes = []corev1.Volume{{Name: "weights", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: d.model}}}}
	llm.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "weights", MountPath: "/models"}}
	cases := []struct {
		ns, what string
		obj      client.Object
	}{
		{"demo-enforce", "signed, trusted registry", deployment("web", d.web)},
		{"demo-enforce", "unsigned, untrusted registry", pod("tool", d.tool)},
		{"demo-enforce", "signed by an unknown key", pod("payments", d.forged)},
		{"demo-enforce", "vLLM server + ModelPack model volume", llm},
		{"demo-audit", "unsigned, untrusted registry", pod("tool", d.tool)},
		{"demo-off", "unsigned, untrusted registry", pod("tool", d.tool)},
	}
	for _, c := range cases {
		c.obj.SetNamespace(c.ns)
		kind := fmt.Sprintf("%T", c.obj)[strings.LastIndex(fmt.Sprintf("%T", c.obj), ".")+1:]
		fmt.Fprintf(out, "■ %s/%s %s (%s)\n", c.ns, strings.ToLower(kind), c.obj.GetName(), c.what)
		wc := &warnings{}
		err := d.createWithWarnings(ctx, c.obj, wc)
		ann := c.obj.GetAnnotations()
		switch {
		case err != nil:
			fmt.Fprintf(out, "  DENIED\n%s\n", indent(err.Error(), "    "))
		case ann[v1alpha1.AnnotationQuarantine] == "true":
			fmt.Fprintf(out, "  QUARANTINED (admitted; %s=true, by %s)\n    reason: %s\n", v1alpha1.AnnotationQuarantine,
				ann[v1alpha1.AnnotationQuarantinedBy], ann[v1alpha1.AnnotationQuarantineReason])
		default:
			fmt.Fprintln(out, "  ALLOWED")
		}
		for _, w := range wc.list {
			fmt.Fprintf(out, "    warning: %s\n", w)
		}
		if v := ann[v1alpha1.AnnotationVerdict]; v != "" && err == nil {
			fmt.Fprintf(out, "    %s: %s\n", v1alpha1.AnnotationVerdict, v)
		}
		fmt.Fprintln(out)
	}
}

func pod(name, image string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}
}

func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}}}
}

func startController(ctx context.Context, bin, kubeconfig, logPath string) (*exec.Cmd, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not found: run `make build` (make demo does): %w", bin, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "controller",
		"--webhook-url", "https://127.0.0.1:"+strconv.Itoa(port), "--webhook-host", "127.0.0.1", "--webhook-port", strconv.Itoa(port),
		"--cert-ip", "127.0.0.1", "--leader-elect=false", "--namespace", "airlock-system",
		"--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func step(s string) { fmt.Fprintln(out, "→ "+s) }

func indent(s, p string) string { return p + strings.ReplaceAll(s, "\n", "\n"+p) }

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// warnings collects the API server's warnings (audit findings, fail-open admissions).
type warnings struct{ list []string }

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.list = append(w.list, text)
}

func (d *demo) createWithWarnings(ctx context.Context, obj client.Object, w *warnings) error {
	cfg := rest.CopyConfig(d.cfg)
	cfg.WarningHandlerWithContext = w
	c, err := client.New(cfg, client.Options{Scheme: d.k8s.Scheme()})
	if err != nil {
		return err
	}
	return c.Create(ctx, obj)
}
