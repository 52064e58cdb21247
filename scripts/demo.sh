#!/usr/bin/env bash
# `npm run demo`: builds everything, starts the bundled vCenter simulator and the exporter
# against it, and serves metrics until Ctrl-C. DEMO_LISTEN overrides 127.0.0.1:9272.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
listen="${DEMO_LISTEN:-127.0.0.1:9272}"
demo_dir="$root/.cache/demo"

# Only what the demo needs: promtool is for the tests.
bash scripts/ensure-system-deps.sh golang-go golang-github-vmware-govmomi-dev
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
bash scripts/build-vcsim.sh

host="${listen%:*}"
port="${listen##*:}"
case "$host" in '' | 0.0.0.0) host=127.0.0.1 ;; '[::]') host='[::1]' ;; esac
# True when something accepts connections on the demo's port (bash's /dev/tcp: no curl needed).
port_open() { (exec 3<>"/dev/tcp/${host//[\[\]]/}/$port") 2>/dev/null; }
if port_open; then
  echo "vsphere-exporter demo: $listen is already in use; choose another with DEMO_LISTEN=127.0.0.1:PORT" >&2
  exit 1
fi

vcsim_pid=""
exporter_pid=""
# Stops exactly the two processes started here: the exporter first, so it can still log out of
# the simulator, then vcsim.
cleanup() {
  trap - INT TERM EXIT
  for pid in "$exporter_pid" "$vcsim_pid"; do
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
# shellcheck disable=SC2317 # invoked by trap
on_signal() {
  echo "vsphere-exporter demo: stopping" >&2
  cleanup
  exit 0
}
trap on_signal INT TERM
trap cleanup EXIT

mkdir -p "$demo_dir"
rm -f "$demo_dir/vcsim.out"
# setsid: its own session, so Ctrl-C (SIGINT to the terminal's process group) does not stop the
# simulator before the exporter has logged out; cleanup() stops it. Not a group leader here, so
# setsid execs without forking and $! is vcsim's pid.
setsid .cache/vcsim/vcsim -listen 127.0.0.1:0 -user demo:demo-password >"$demo_dir/vcsim.out" 2>"$demo_dir/vcsim.log" &
vcsim_pid=$!

# vcsim prints one JSON line with its URL once it listens.
vcsim_url=""
for _ in $(seq 300); do
  vcsim_url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$demo_dir/vcsim.out")"
  [ -n "$vcsim_url" ] && break
  if ! kill -0 "$vcsim_pid" 2>/dev/null; then
    echo "vcsim failed to start:" >&2
    cat "$demo_dir/vcsim.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$vcsim_url" ]; then
  echo "vcsim printed no URL within 30 s" >&2
  exit 1
fi

# The password goes through a 0600 file, as in production, never the command line.
(
  umask 077
  printf '%s\n' 'demo-password' >"$demo_dir/password"
)
chmod 0600 "$demo_dir/password"

# The demo talks to its own simulator only: drop any VSPHERE_* settings from the caller's shell.
for var in $(compgen -v VSPHERE_ || true); do unset "$var"; done
VSPHERE_URL="$vcsim_url" VSPHERE_USER=demo VSPHERE_PASSWORD_FILE="$demo_dir/password" \
  node dist/main.js --web.listen-address="$listen" &
exporter_pid=$!

# Announce only once the port accepts connections.
for _ in $(seq 300); do
  kill -0 "$exporter_pid" 2>/dev/null || break
  if port_open; then
    echo "vsphere-exporter demo: metrics at http://$host:$port/metrics (vcsim at $vcsim_url). Ctrl-C stops both."
    break
  fi
  sleep 0.1
done

# Runs until Ctrl-C (on_signal) or until the exporter exits on its own: then stop vcsim too and
# pass the exporter's exit code on.
set +e
wait "$exporter_pid"
code=$?
set -e
exporter_pid=""
echo "vsphere-exporter demo: exporter exited with code $code" >&2
cleanup
exit "$code"
