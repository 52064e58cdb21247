#!/usr/bin/env bash
# Builds the vCenter simulator .cache/vcsim/vcsim from test/harness/vcsim/main.go when it is
# missing or older than main.go. Offline: GOPATH mode against Debian's
# golang-github-vmware-govmomi-dev, no Go module download. Prints one line on success.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/harness/vcsim/main.go"
out_dir="$root/.cache/vcsim"
bin="$out_dir/vcsim"
gopath=/usr/share/gocode

if ! command -v go >/dev/null 2>&1 || [ ! -d "$gopath/src/github.com/vmware/govmomi/simulator" ]; then
  bash "$root/scripts/ensure-system-deps.sh" golang-go golang-github-vmware-govmomi-dev
fi

# An earlier layout put the binary at .cache/vcsim itself; make room for the directory.
if [ -f "$out_dir" ]; then
  rm -f "$out_dir"
fi
mkdir -p "$out_dir"

if [ -x "$bin" ] && [ ! "$src" -nt "$bin" ]; then
  echo "vcsim: up to date ($bin)"
  exit 0
fi

# GOCACHE inside the repository so any user can build (no writable HOME needed); CGO off so
# no C compiler is needed and the binary is static. Build to a temporary name and rename, so
# a concurrent reader never runs a half-written binary.
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
  cd "$root/test/harness/vcsim"
  GO111MODULE=off GOPATH="$gopath" GOCACHE="$root/.cache/go-build" GOFLAGS='' CGO_ENABLED=0 \
    go build -o "$tmp" main.go
)
mv -f "$tmp" "$bin"
echo "vcsim: built $bin"
