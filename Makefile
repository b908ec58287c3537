# `make` lists the targets. `make run` and `make test` are the whole set-up on a fresh machine.
.DEFAULT_GOAL := help
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: help build run test bench lint fuzz clean e2e faults test-cluster

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

e2e: ## whole journeys (WeCom, official account, reminders) with gateway, sandbox and Redis as processes
	scripts/e2e.sh

faults: ## kill -9, Redis restart, platform 5xx and hangs, one contact flooded; prints what held (< 5 min)
	scripts/faults.sh

test-cluster: ## a fresh 3-master Redis Cluster: cluster tests, then two gateways behind one load balancer
	scripts/test-cluster.sh

lint: ## golangci-lint at the pinned version (built into bin/ on first use)
	scripts/lint.sh

fuzz: ## every fuzz target for FUZZTIME each (default 20s)
	scripts/fuzz.sh

clean: ## remove bin/ and the local run state in .run/
	rm -rf bin .run
