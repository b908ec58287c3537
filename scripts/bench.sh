#!/usr/bin/env bash
# `make bench`: one report. Targets are ratios against baselines measured in
# the same run (machines are noisy); absolute figures are context.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT

section() { printf '\n== %s\n' "$1"; }
bench() { # package, regexp, benchtime
  go test "$1" -run '^$' -bench "$2" -benchtime "${3:-1x}" -count 1 -timeout 30m | grep -E '^(Benchmark|ok|FAIL|---)' | tee -a "$out"
}

section "WeCom callbacks: real route vs minimal verify+decrypt+parse+4-command-pipeline handler, 64 connections"
bench ./gateway '^BenchmarkWeComCallbacks$'
section "Email campaign: 10k personalised ~6 KB messages to a local go-smtp sink (pooled+pipelined vs naive net/smtp)"
bench ./channels/email '^BenchmarkCampaign$'
if grep -q 'func BenchmarkCapDispatch' outreach/*_test.go 2>/dev/null; then
  section "Cap-checked dispatch vs a bare pipelined Lua cap+enqueue loop"
  bench ./outreach '^BenchmarkCapDispatch$'
fi
section "Sends per channel through the whole stack (API → asynq → sender → sandbox)"
bench ./cmd/gatewayd '^BenchmarkSendsPerChannel$'
section "100k-contact SMS campaign end to end (audience → caps → render → Aliyun SDK → sandbox), processes on loopback"
bench ./cmd/gatewayd '^BenchmarkCampaign100k$'
section "Dialog steps: one contact at a time, and many contacts at once (shipped scripts, real Redis)"
bench ./dialogs '^BenchmarkStep(Parallel)?$' 3000x
section "Redis memory: per contact (100k contacts) and per scheduled message (20k)"
bench ./contacts '^BenchmarkMemoryPerContact$'
bench ./outreach '^BenchmarkMemoryPerScheduledMessage$'
section "Contact import: 100k-row CSV through the job vs the same rows applied directly with contacts.Store.Apply"
bench ./contacts/transfer '^BenchmarkImport100k$'
section "Report queries over 90 days of aggregates of 1M contacts vs one HGETALL of one day"
bench ./reports '^BenchmarkReportQueries$'
section "Per-operation costs"
go test ./channels/... ./contacts ./templates ./dialogs -run '^$' -benchmem -benchtime 2000x -timeout 20m \
  -bench '^Benchmark(ScanXML|Decode|Apply|ApplyParallel|Render|Validate|Send|Step)$' \
  | grep -E '^Benchmark' | tee -a "$out"

section "Summary"
awk '
function m(name) { for (i = 2; i < NF; i++) if ($(i+1) == name) return $i; return "" }
/^BenchmarkWeComCallbacks/ {
  printf "callbacks      route %s req/s vs baseline %s req/s: ratio %s (target >= 0.80, aim 1.0); p99 %s ms vs %s ms: ratio %s (target <= 1.50)\n",
    m("route-req/s"), m("baseline-req/s"), m("throughput-ratio"), m("route-p99-ms"), m("baseline-p99-ms"), m("p99-ratio") }
/^BenchmarkCampaign\/pooled/ { pooled = m("msgs/s") }
/^BenchmarkCampaign\/naive/ { naive = m("msgs/s") }
/^BenchmarkCapDispatch/ {
  printf "cap dispatch   %s msgs/s vs bare loop %s msgs/s: ratio %s (target >= 0.70)\n", m("dispatch-msgs/s"), m("baseline-msgs/s"), m("ratio") }
/^BenchmarkCapDispatch/ { baseline = m("baseline-msgs/s") }
/^BenchmarkCampaign100k/ { campaign = m("msgs/s"); dispatch = m("dispatch/s"); campaignMem = m("redis-bytes/contact")
  decisions = m("cap-decisions/s"); cmds = m("redis-cmds/decision"); rus = m("redis-us/decision") }
/^BenchmarkStep-/ && step == "" { step = m("msgs/s"); steprt = m("roundtrips/op") }
/^BenchmarkStepParallel/ { stepPar = m("msgs/s") }
/^BenchmarkMemoryPerContact/ { printf "redis memory   %s bytes per contact (100k contacts: %.0f MB)\n", m("bytes/contact"), m("bytes/contact") * 100000 / 1e6 }
/^BenchmarkMemoryPerScheduledMessage/ { printf "redis memory   %s bytes per scheduled message\n", m("bytes/message") }
/^BenchmarkSendsPerChannel/ {
  printf "sends/s        sms %s, email %s, officialaccount %s, wecom %s (whole stack against the sandbox)\n",
    m("sms-msgs/s"), m("email-msgs/s"), m("officialaccount-msgs/s"), m("wecom-msgs/s") }
/^BenchmarkImport100k/ {
  printf "import         %s rows/s vs direct Apply %s rows/s: ratio %s; peak heap %s MiB for a %s MiB file\n",
    m("import-rows/s"), m("baseline-rows/s"), m("ratio"), m("peak-heap-MiB"), m("file-MiB") }
/^BenchmarkReportQueries/ {
  printf "reports        funnel %s ms, campaigns %s ms, channels %s ms, hand-offs %s ms over 90 days of 1M contacts vs one HGETALL %s ms (ratios %s, %s, %s, %s; target: each well under 1000 ms); %s redis bytes per contact\n",
    m("funnel-ms"), m("campaigns-ms"), m("channels-ms"), m("handoffs-ms"), m("baseline-ms"), m("funnel-ratio"), m("campaigns-ratio"), m("channels-ratio"), m("handoffs-ratio"), m("redis-bytes/contact") }
END {
  if (step != "") printf "dialog steps   %s steps/s one contact at a time (%s round trips each), %s steps/s across many contacts\n", step, steprt, stepPar
  if (campaign != "") {
    printf "100k campaign  %s msgs/s end to end (one cap decision each), audience + queueing %s/s; %s Redis bytes per contact with its message\n", campaign, dispatch, campaignMem
    if (baseline != "") printf "               cap decisions in the campaign (same audience again, all capped; decided at dispatch, one ReserveMany per batch): %s/s vs the bare pipelined Lua cap+enqueue loop %s/s = %.2f; %s Redis commands and %s us of Redis time per decision (the cap path alone: the cap dispatch ratio above)\n", decisions, baseline, decisions / baseline, cmds, rus
  }
  if (pooled != "") printf "email campaign %s msgs/s pooled vs %s msgs/s naive: ratio %.2f (target >= 4650 msgs/s)\n", pooled, naive, pooled / naive }
' "$out"
