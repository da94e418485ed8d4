package main

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type globals struct {
	kubeconfig, context, namespace string
}

// client returns a client and the namespace to work in, as kubectl resolves them.
func (g *globals) client() (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: g.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	ns := g.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", err
		}
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, ns, err
}

// parseTarget turns "deploy/web" into an empty object of that kind with its name.
func parseTarget(s, namespace string) (client.Object, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || name == "" {
		return nil, fmt.Errorf("%q: write KIND/NAME, as in deployment/web or pod/web-0", s)
	}
	var o client.Object
	switch strings.ToLower(kind) {
	case "pod", "pods", "po":
		o = &corev1.Pod{}
	case "deployment", "deployments", "deploy":
		o = &appsv1.Deployment{}
	case "statefulset", "statefulsets", "sts":
		o = &appsv1.StatefulSet{}
	case "daemonset", "daemonsets", "ds":
		o = &appsv1.DaemonSet{}
	case "replicaset", "replicasets", "rs":
		o = &appsv1.ReplicaSet{}
	case "job", "jobs":
		o = &batchv1.Job{}
	case "cronjob", "cronjobs", "cj":
		o = &batchv1.CronJob{}
	default:
		return nil, fmt.Errorf("%q: Airlock quarantines pods, deployments, statefulsets, daemonsets, replicasets, jobs and cronjobs", kind)
	}
	o.SetName(name)
	o.SetNamespace(namespace)
	return o, nil
}

// target returns a client and the object KIND/NAME names in the namespace to work in.
func (g *globals) target(arg string) (client.Client, client.Object, error) {
	c, ns, err := g.client()
	if err != nil {
		return nil, nil, err
	}
	o, err := parseTarget(arg, ns)
	return c, o, err
}
