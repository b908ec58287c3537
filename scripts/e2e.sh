#!/usr/bin/env bash
# `make e2e`: the whole journeys and the end-to-end checks, with bin/gatewayd,
# bin/sandbox and redis-server as separate processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-redis.sh
set +e
go test -count=1 -timeout 15m -v -run '^(TestJourneys|TestEndToEnd.*)$' ./cmd/gatewayd 2>&1 \
  | grep --line-buffered -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|_test\.go:[0-9]+:'
exit "${PIPESTATUS[0]}"
