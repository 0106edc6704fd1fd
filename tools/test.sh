#!/usr/bin/env bash
# README command 2 (and .ci/run): installs what is missing, builds, and runs every test:
# unit + integration tests, the same under ASan/UBSan, and each fuzz target for a bounded time.
# Usage: tools/test.sh            WSGATE_FUZZ_SECONDS=N to change the fuzz budget (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

tools/install-deps.sh

passed=0
failed=0
run_ctest() {  # run_ctest DIR [ctest args...]
  local dir=$1; shift
  local log
  log=$(mktemp)
  set +e
  ctest --test-dir "$dir" --output-on-failure --timeout 600 -j2 "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1 || true)
  if [[ -n $line ]]; then
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
  elif ((rc != 0)); then
    failed=$((failed + 1))
  fi
  rm -f "$log"
}

echo "== build (release)"
tools/build.sh release
echo "== tests (release)"
run_ctest build

echo "== bench smoke (the load generator and harness work; no performance assertions)"
if bench/smoke.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== browser (headless Chromium through wsgate over TLS + HTTP/2)"
if tests/browser/run.sh build/gateway/wsgate build/tools/wsgate-echo; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== compression: python3-websockets through wsgate (permessage-deflate terminate/passthrough/off)"
if tests/compression/python_client_test.sh build/gateway/wsgate build/tools/wsgate-echo; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== observability: real Prometheus scraping wsgate"
if tests/observability/prometheus_test.sh build/gateway/wsgate build/tools/wsgate-echo; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== observability: status page in headless Chromium"
if tests/observability/status_page.sh build/gateway/wsgate build/tools/wsgate-echo; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== conformance: Autobahn-style cases through wsgate"
if tests/conformance/run.sh build/gateway/wsgate build/tools/wsgate-echo; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== deploy: manifests, unit file, compose, Dockerfile"
if tests/deploy/check.sh build/gateway/wsgate; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== build (ASan+UBSan)"
tools/build.sh asan
echo "== tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest build-asan

echo "== fuzz"
if tools/fuzz.sh "${WSGATE_FUZZ_SECONDS:-60}"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== done in $(( $(date +%s) - start ))s"
echo "tests: ${passed} passed, ${failed} failed"
((failed == 0))
