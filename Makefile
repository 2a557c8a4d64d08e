# Berth. `make run` starts the platform on this machine; `make test` runs
# every test against real PostgreSQL, Redis/Valkey and Podman.
SHELL := /bin/bash
GO ?= go
# The Podman bindings need these tags for every go command (build, vet, test).
export GOFLAGS := -tags=remote,containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper
export CGO_CFLAGS := -O2 -g -Wno-deprecated-declarations
BIN := bin/berth
TEST_TIMEOUT ?= 25m

.PHONY: help run deps build images image-jupyter policies test test-unit lint vet fmt bench-scheduler clean clean-var

help: ## show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: deps build images ## install what is missing, build, and start the platform (Ctrl-C stops it)
	$(BIN) up

deps: ## install missing system packages (as root), or print the command
	@scripts/install-deps.sh

build: ## build bin/berth
	$(GO) build -o $(BIN) ./cmd/berth

images: ## build the default session images locally
	@examples/images/build.sh --if-missing

image-jupyter: ## build the optional Jupyter session image (debootstrap, as root; minutes)
	@examples/images/jupyter/build.sh --if-missing

policies: ## rebuild the built-in Wasm policies (committed)
	@policies/builtin/build.sh

test: deps build images ## the whole test suite (unit + integration)
	$(GO) vet ./...
	$(GO) test -p 2 -count=1 -timeout $(TEST_TIMEOUT) ./...

test-unit: ## only the fast tests
	$(GO) test -short ./...

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

lint: vet ## gofmt check + go vet + staticcheck (when installed)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"; fi

bench-scheduler: ## scheduler benchmark: Wasm vs native policy, PostgreSQL commit included
	$(GO) run ./bench/scheduler

clean: ## remove build outputs
	rm -rf bin

clean-var: ## remove all local state (database, Valkey data, logs); stop `make run` first
	@if [ -f var/postgres.location ]; then rm -rf "$$(cat var/postgres.location)"; fi
	rm -rf var
