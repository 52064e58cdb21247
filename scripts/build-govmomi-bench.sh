#!/usr/bin/env bash
# Builds .cache/govmomi-bench/govmomi-bench from bench/govmomi/*.go (Telegraf's vsphere collection
# with govmomi, for the benchmark's comparison) when it is missing or older than a source file.
# Offline, like scripts/build-vcsim.sh: GOPATH mode against Debian's golang-github-vmware-govmomi-dev,
# the same govmomi source as our vcsim, no Go module download. Prints one line on success; exits
# non-zero (the benchmark then runs without the comparison) when Go or govmomi is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_dir="$root/bench/govmomi"
out_dir="$root/.cache/govmomi-bench"
bin="$out_dir/govmomi-bench"
gopath=/usr/share/gocode

if ! command -v go >/dev/null 2>&1 || [ ! -d "$gopath/src/github.com/vmware/govmomi/performance" ]; then
  bash "$root/scripts/ensure-system-deps.sh" golang-go golang-github-vmware-govmomi-dev
fi

mkdir -p "$out_dir"
if [ -x "$bin" ] && [ -z "$(find "$src_dir" -name '*.go' -newer "$bin" -print -quit)" ]; then
  echo "govmomi-bench: up to date ($bin)"
  exit 0
fi

# Same settings as vcsim: GOCACHE inside the repository, no cgo, a temporary name renamed into place.
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
  cd "$src_dir"
  GO111MODULE=off GOPATH="$gopath" GOCACHE="$root/.cache/go-build" GOFLAGS='' CGO_ENABLED=0 \
    go build -o "$tmp" ./*.go
)
mv -f "$tmp" "$bin"
echo "govmomi-bench: built $bin"
