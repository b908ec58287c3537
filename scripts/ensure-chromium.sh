#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium for the console's
# browser tests: installs the package when missing and running as root,
# otherwise says how to get it. The tests fail (not skip) without it.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found; installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  [ -x /usr/bin/chromium ] && exit 0
fi
echo "chromium is required at /usr/bin/chromium for the console's browser tests: install it (Debian/Ubuntu: sudo apt-get install chromium) and run again" >&2
exit 1
