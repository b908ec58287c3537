#!/usr/bin/env bash
# `make bench`: every benchmark that compares the product against a baseline
# measured in the same run, printed as one report. Figures are ratios because
# machines are noisy; absolute numbers are shown for context only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() { # package, benchmark regexp
  go test "$1" -run '^$' -bench "$2" -benchtime 1x -count 1 -timeout 20m | tee -a "$out"
}

echo "== WeCom callbacks: real route vs minimal verify+decrypt+parse+pipeline handler (64 connections)"
run ./gateway '^BenchmarkWeComCallbacks$'
echo "== decoders and contact store (per-operation cost)"
go test ./channels/... ./contacts -run '^$' -bench . -benchmem -benchtime 2000x | grep -E '^(Benchmark|ok)' | tee -a "$out"

echo
echo "== summary"
awk '/^BenchmarkWeComCallbacks/ {
  for (i = 2; i <= NF; i++) m[$(i+1)] = $i
  printf "callbacks: route %.0f req/s vs baseline %.0f req/s, ratio %.2f (target >= 0.80); p99 route %.1f ms vs baseline %.1f ms, ratio %.2f (target <= 1.50)\n",
    m["route-req/s"], m["baseline-req/s"], m["throughput-ratio"], m["route-p99-ms"], m["baseline-p99-ms"], m["p99-ratio"]
}' "$out"
