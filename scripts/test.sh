#!/usr/bin/env bash
# The whole test suite (`npm test`, and what CI runs): system packages, npm ci if needed, build,
# vcsim, typecheck, lint, format check, then unit + integration tests in ONE node:test run under
# c8 coverage. TEST_FILTER=<substring> runs only the test files whose path contains it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n=== %s\n' "$*"; }

step "system packages"
bash scripts/ensure-system-deps.sh
if [ ! -d node_modules ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi
step "build"
npm run --silent build
step "vcsim"
bash scripts/build-vcsim.sh
step "govmomi-bench"
# The benchmark's govmomi comparison; its smoke test skips with a notice when it cannot be built.
bash scripts/build-govmomi-bench.sh || echo "govmomi-bench not built: the comparison's smoke test will be skipped" >&2
step "typecheck"
npx tsc -p tsconfig.json --noEmit
step "eslint"
npx eslint .
step "prettier"
npx prettier --check . >/dev/null # names unformatted files on stderr

# Node 20's --test does not expand globs, so list the files ourselves.
mapfile -t files < <(find test/unit test/integration -name '*.test.ts' | sort)
if [ -n "${TEST_FILTER:-}" ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -F -- "$TEST_FILTER" || true)
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files match TEST_FILTER=${TEST_FILTER:-}" >&2
  exit 1
fi

step "tests (${#files[@]} files)"
mkdir -p .cache
log=.cache/test-output.txt
# c8 collects V8 coverage of the test processes and of the exporter processes the integration
# tests start (the harness passes NODE_V8_COVERAGE on); tsx's inline source maps and dist/*.js.map
# map both back to src/*.ts. Files are serialised (--test-concurrency=1): integration tests start
# simulators and exporters and measure fds and timing.
status=0
npx c8 --reporter=text-summary --src src --include 'src/**' --exclude-after-remap \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" 2>&1 | tee "$log" ||
  status=$?

# c8 prints its coverage summary after the test run; CI reads the runner's closing summary
# ("ℹ tests N", "ℹ pass N", "ℹ fail N"), so repeat it last.
summary="$(grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$log" | tail -n 8 || true)"
if [ -n "$summary" ]; then
  printf '\n%s\n' "$summary"
fi
exit "$status"
