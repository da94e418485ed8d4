// Package testregistry runs go-containerregistry's in-process OCI registry on loopback and fills it
// with the images Airlock's tests and demo need: plain and model-server images, AI model artifacts
// in the ModelPack, KitOps and Docker AI formats, and cosign signatures made with cosign's own code.
// It counts the requests it serves, so tests can assert how often a registry is asked, and it can be
// stopped mid-test to play an outage.
package testregistry

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is a running in-process registry.
type Registry struct {
	// Host is "127.0.0.1:PORT". go-containerregistry speaks plain HTTP to loopback hosts.
	Host string

	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// Request is one request the registry served.
type Request struct {
	Method string
	Path   string
}

var manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)

// Manifest returns the repository and reference of a manifest request, and false for any other
// request (blobs, uploads, the /v2/ ping).
func (r Request) Manifest() (repo, ref string, ok bool) {
	m := manifestPath.FindStringSubmatch(r.Path)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// IsSignature reports whether the request is for a cosign signature (the sha256-<hex>.sig tag).
func (r Request) IsSignature() bool {
	_, ref, ok := r.Manifest()
	return ok && strings.HasSuffix(ref, ".sig")
}

// New starts a registry on a free loopback port. Close it when done.
func New() *Registry {
	r := &Registry{}
	h := registry.New(registry.Logger(nullLogger()))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.Path})
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// Close stops the registry; afterwards connections to Host are refused, as in a registry outage.
func (r *Registry) Close() { r.srv.Close() }

// Requests returns the requests served since the last Reset.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Reset forgets the requests served so far.
func (r *Registry) Reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

// Ref returns "HOST/repo" followed by suffix (":tag" or "@sha256:...").
func (r *Registry) Ref(repo, suffix string) string { return r.Host + "/" + repo + suffix }

// RemoteOptions are the options for talking to this registry from go-containerregistry.
func (r *Registry) RemoteOptions() []remote.Option {
	return []remote.Option{remote.WithTransport(r.srv.Client().Transport)}
}
