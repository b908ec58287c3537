# `make` lists the targets. `make run` and `make test` are the whole set-up on a fresh machine.
.DEFAULT_GOAL := help
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: help build run test bench lint fuzz clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/gatewayd and bin/sandbox
	$(GO) build -o bin/gatewayd ./cmd/gatewayd
	$(GO) build -o bin/sandbox ./cmd/sandbox

run: build ## start Redis, the platform sandbox and the gateway with the demo config
	scripts/ensure-redis.sh
	scripts/run.sh

test: ## go vet, then every test with the race detector against a real redis-server (and chromium for the console)
	scripts/ensure-redis.sh
	scripts/ensure-chromium.sh
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 8m ./...

bench: build ## benchmarks, reported as ratios against baselines measured in the same run
	scripts/ensure-redis.sh
	scripts/bench.sh

lint: ## golangci-lint at the pinned version (built into bin/ on first use)
	scripts/lint.sh

fuzz: ## every fuzz target for FUZZTIME each (default 20s)
	scripts/fuzz.sh

clean: ## remove bin/ and the local run state in .run/
	rm -rf bin .run
