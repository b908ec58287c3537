#!/usr/bin/env bash
# `make test-cluster`: starts a fresh three-master Redis Cluster on free
# loopback ports (data in a temp dir, removed at the end), runs the packages'
# cluster tests and the two-gateway run against it (REDIS_CLUSTER_ADDRS),
# then stops the cluster. Fails on any cross-slot error.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-redis.sh
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A cluster node also listens on its port + 10000, so ports stay at or below
# 55535 and both must be free.
free_port() {
  python3 - <<'PY' 2>/dev/null || shuf -i 20000-45535 -n 1
import random, socket
while True:
    port = random.randint(20000, 55535)
    try:
        for p in (port, port + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
    except OSError:
        continue
    print(port)
    break
PY
}

addrs=()
for i in 1 2 3; do
  port=$(free_port)
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --cluster-enabled yes \
    --cluster-config-file nodes.conf --cluster-node-timeout 5000 --appendonly yes --save "" \
    --logfile "$dir/$port/redis.log" --daemonize no &
  pids+=($!)
  addrs+=("127.0.0.1:$port")
done
for a in "${addrs[@]}"; do
  up=no
  for _ in $(seq 1 200); do
    if redis-cli -h 127.0.0.1 -p "${a##*:}" ping >/dev/null 2>&1; then up=yes; break; fi
    sleep 0.05
  done
  if [ "$up" != yes ]; then
    echo "redis-server on $a did not start:" >&2
    cat "$dir/${a##*:}/redis.log" >&2 || true
    exit 1
  fi
done
redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 \
  || { cat "$dir/create.log" >&2; exit 1; }
for a in "${addrs[@]}"; do
  for _ in $(seq 1 200); do
    redis-cli -h 127.0.0.1 -p "${a##*:}" cluster info 2>/dev/null | grep -q cluster_state:ok && break
    sleep 0.05
  done
done
REDIS_CLUSTER_ADDRS=$(IFS=,; echo "${addrs[*]}")
export REDIS_CLUSTER_ADDRS
echo "== Redis Cluster of three masters: $REDIS_CLUSTER_ADDRS"

echo "== Domain packages on a cluster (each starts its own throw-away cluster)"
go test -count=1 -timeout 10m -run 'OnCluster' ./contacts ./outreach ./dialogs ./templates
echo "== Two gatewayd processes on the cluster behind one load balancer and one sandbox"
status=0
go test -count=1 -timeout 10m -v -run '^TestClusterTwoGateways$' ./cmd/gatewayd >"$dir/gateways.log" 2>&1 || status=$?
grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|_test\.go:[0-9]+:' "$dir/gateways.log" || true
if [ "$status" != 0 ]; then
  echo "two-gateway run failed (exit $status); full log:" >&2
  tail -n 200 "$dir/gateways.log" >&2
  exit "$status"
fi
