#!/usr/bin/env bash
# Makes sure redis-server is on PATH: installs Debian's package when missing
# and running as root, otherwise says how to get it.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found; installing Debian's redis-server package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  command -v redis-server >/dev/null && exit 0
fi
echo "redis-server is required: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run again" >&2
exit 1
