#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, if missing:
#   golang-go + golang-github-vmware-govmomi-dev  to build the vCenter simulator and the benchmark's
#                                                 govmomi comparison (offline, GOPATH mode)
#   prometheus                                    for /usr/bin/promtool (and /usr/bin/prometheus)
#   chromium                                      for the status page's browser test (playwright-core)
# Usage: scripts/ensure-system-deps.sh [PACKAGE...]   (default: all four)
# As root it runs apt-get itself; otherwise it prints the command to run and exits 1.
set -euo pipefail

packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
  packages=(golang-go golang-github-vmware-govmomi-dev prometheus chromium)
fi

# Checks for what we actually use rather than dpkg state, so a Go or promtool installed some
# other way (and on PATH) is good enough.
present() {
  case "$1" in
    golang-go) command -v go >/dev/null 2>&1 ;;
    golang-github-vmware-govmomi-dev) [ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] ;;
    prometheus) command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 ;;
    # The browser test launches this exact path.
    chromium) [ -x /usr/bin/chromium ] ;;
    *) [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ] ;;
  esac
}

missing=()
for p in "${packages[@]}"; do
  present "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with:" >&2
  echo "  sudo apt-get update && sudo ${install_cmd[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Debian's prometheus package starts its service from postinst (invoke-rc.d, or
# deb-systemd-invoke under systemd), which would bind :9090 and keep running. Both honour
# policy-rc.d, so deny service starts for the duration of the install unless the machine
# already has a policy (Docker-style images ship one that denies everything).
policy=/usr/sbin/policy-rc.d
own_policy=0
cleanup() { if [ "$own_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from vsphere-exporter scripts/ensure-system-deps.sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  own_policy=1
fi

echo "installing Debian packages: ${missing[*]}" >&2
# apt-get update at most once, and only now that something is missing: skip it when package
# lists exist (CI has just refreshed them) and fall back to it if the install fails on stale lists.
updated=0
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt-get update -qq
  updated=1
fi
if ! "${install_cmd[@]}" -qq >/dev/null; then
  [ "$updated" -eq 1 ] && exit 1
  apt-get update -qq
  "${install_cmd[@]}" -qq >/dev/null
fi

# The package also enables its service for the next boot; on a systemd machine undo that for a
# Prometheus we installed only for promtool.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --quiet prometheus.service 2>/dev/null || true
fi

for p in "${missing[@]}"; do
  present "$p" || {
    echo "package $p installed but still not usable" >&2
    exit 1
  }
done
