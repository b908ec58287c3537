#!/usr/bin/env bash
# `make run`: a local Redis (AOF on, data in .run/), the platform sandbox and
# the gateway wired to it with the demo settings. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a
# shellcheck disable=SC1091
. configs/demo.env
set +a
state="$PWD/.run"
mkdir -p "$state/redis"
redis_port=${REDIS_PORT:-6390}
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start; see the log above or in $state" >&2
  exit 1
}

if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  echo "something already answers on port $redis_port: stop it or set REDIS_PORT" >&2
  exit 1
fi
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$state/redis" --appendonly yes \
  --save "" --logfile "$state/redis.log" --daemonize no &
pids+=($!)
wait_for redis-server redis-cli -p "$redis_port" ping

bin/sandbox -gateway "http://$HTTP_ADDR" >"$state/sandbox.log" 2>&1 &
pids+=($!)
wait_for sandbox curl -fsS http://127.0.0.1:9000/

bin/gatewayd -config configs/gateway.yaml -config configs/demo.yaml &
pids+=($!)
wait_for gatewayd curl -fsS "http://$HTTP_ADDR/readyz"

for f in configs/templates/*.json; do
  id=$(basename "$f" .json)
  curl -fsS -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data-binary @"$f" "http://$HTTP_ADDR/api/v1/templates/$id" >/dev/null || { echo "seeding template $id failed" >&2; exit 1; }
done
api() { curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' "$@" >/dev/null; }
expires=$(date -u -d '+90 days' +%Y-%m-%dT%H:%M:%SZ)
if api -X POST "http://$HTTP_ADDR/api/v1/coupons/batches" -d "{\"id\":\"winback_2026\",\"name\":\"老客召回\",\"expires_at\":\"$expires\"}" 2>/dev/null; then
  api -X POST "http://$HTTP_ADDR/api/v1/coupons/batches/winback_2026/codes" -d '{"generate":200,"prefix":"WB"}'
fi

cat <<MSG

  gateway   http://$HTTP_ADDR          (admin token: $ADMIN_TOKEN)
  metrics   http://$HTTP_ADDR/metrics
  sandbox   http://127.0.0.1:9000/      (chat as a customer, see what each channel received)
  redis     $REDIS_URL  (AOF in .run/redis)

  Demo coupons: batch winback_2026 (200 codes), used by configs/dialogs/winback.yaml
  Demo templates: $(cd configs/templates && ls *.json | sed 's/\.json//' | tr '\n' ' ')

  Try:  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" -X POST http://$HTTP_ADDR/api/v1/events \\
          -d '{"contact":{"phone":"13800138000"},"type":"whitepaper_download","id":"demo-1"}'
        curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "http://$HTTP_ADDR/api/v1/contacts/lookup?channel=sms&id=13800138000"

  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
