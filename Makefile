# Airlock's one entry point for building and testing. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

BIN       ?= $(CURDIR)/bin
K8S_BIN   := $(BIN)/k8s
GO        ?= go
GOFLAGS   ?=
# Integration tests find kube-apiserver and etcd here (controller-runtime's envtest reads this).
export KUBEBUILDER_ASSETS := $(K8S_BIN)

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build airlock and the kubectl plugin kubectl-airlock into bin/.
	$(GO) build -o $(BIN)/airlock ./cmd/airlock
	$(GO) build -o $(BIN)/kubectl-airlock ./cmd/kubectl-airlock

.PHONY: generate
generate: ## Regenerate deepcopy code and the CRD YAML from api/, and redact's gitleaks rules.
	$(GO) tool controller-gen object paths=./api/...
	$(GO) tool controller-gen crd:allowDangerousTypes=false paths=./api/... output:crd:dir=charts/airlock/crds
	$(GO) generate ./redact

.PHONY: lint
lint: ## go vet, gofmt, and a check that generated files are current.
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(MAKE) --no-print-directory generate
	@git diff --exit-code -- api charts/airlock/crds redact/gitleaks_rules.json || { echo "generated files are stale: run make generate and commit"; exit 1; }

.PHONY: demo
demo: build tools $(K8S_BIN)/kubectl ## Local control plane + registry + airlock controller; prints verdicts, runs until Ctrl-C.
	$(GO) build -o $(BIN)/airlock-demo ./test/demo
	$(BIN)/airlock-demo --airlock $(BIN)/airlock --dir $(BIN)/demo

.PHONY: tools
tools: $(K8S_BIN)/kube-apiserver $(K8S_BIN)/etcd $(BIN)/helm ## Build the test control plane (kube-apiserver, etcd) and helm once.

# Helm renders the chart in the tests that check its RBAC against a real API server.
$(BIN)/helm: test/tools/helm/go.mod test/tools/helm/go.sum
	cd test/tools/helm && $(GO) build -o $@ helm.sh/helm/v4/cmd/helm

# The control-plane binaries come from the Go module proxy through test/tools; a cold build takes
# about nine minutes, so they are built only when missing or when test/tools/go.mod changes.
$(K8S_BIN)/kube-apiserver: test/tools/go.mod test/tools/go.sum
	cd test/tools && $(GO) build -o $@ k8s.io/kubernetes/cmd/kube-apiserver
$(K8S_BIN)/kubectl: test/tools/go.mod test/tools/go.sum
	cd test/tools && $(GO) build -o $@ k8s.io/kubernetes/cmd/kubectl
$(K8S_BIN)/etcd: test/tools/go.mod test/tools/go.sum
	cd test/tools && $(GO) build -o $@ go.etcd.io/etcd/server/v3

.PHONY: test
test: tools ## Unit, integration (real kube-apiserver + etcd) and short fuzz tests.
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# Each fuzz target runs briefly inside `make test`; run longer with `make fuzz FUZZTIME=10m`.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./webhook:FuzzAdmissionReview ./redact:FuzzStreamMatchesWhole

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 10s).
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

.PHONY: bench
bench: ## Run the benchmarks (compare runs with benchstat).
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./...

.PHONY: clean
clean: ## Remove built binaries (keeps the cached control plane).
	rm -f $(BIN)/airlock
