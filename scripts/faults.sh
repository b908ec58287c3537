#!/usr/bin/env bash
# `make faults`: kills and restarts the stack's processes on loopback while
# it works (gateway kill -9 during callbacks and during a campaign, Redis
# restart with AOF, platform 5xx and hangs, one contact flooded), then prints
# what was checked and whether it held. Bounded: about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-redis.sh
report=$(mktemp)
log=$(mktemp)
trap 'rm -f "$report" "$log"' EXIT
status=0
GATEWAY_FAULTS=1 FAULTS_REPORT="$report" timeout 300 \
  go test -count=1 -timeout 5m -v -run '^TestFaults$' ./cmd/gatewayd >"$log" 2>&1 || status=$?
grep -E '^(\s*--- |PASS|FAIL|ok|panic)|_test\.go:[0-9]+:' "$log" | grep -v 'e2e_test.go:[0-9]*: .* log:' || true
echo
if [ -s "$report" ]; then cat "$report"; else echo "no table: the run stopped before it finished" >&2; fi
if [ "$status" != 0 ]; then
  echo "faults run failed (exit $status); last lines of the log:" >&2
  tail -n 60 "$log" >&2
fi
exit "$status"
