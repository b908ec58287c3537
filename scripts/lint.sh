#!/usr/bin/env bash
# Runs golangci-lint at the pinned version, building it into bin/ on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v2.15.0
bin=bin/golangci-lint
if ! [ -x "$bin" ] || ! "$bin" version 2>/dev/null | grep -q "${version#v}"; then
  echo "installing golangci-lint $version into bin/" >&2
  GOBIN="$PWD/bin" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
fi
exec "$bin" run ./...
