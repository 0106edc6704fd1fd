#!/usr/bin/env bash
# Browser test: wsgate serves deploy/demo over TLS (h2 + http/1.1) and proxies /echo to
# wsgate-echo; test.mjs drives headless Chromium through the page and checks its net-log for
# an RFC 8441 WebSocket on the page's HTTP/2 connection; /deflate (compression: terminate)
# checks permessage-deflate with Chromium's own offer. Builds nothing.
# Usage: tests/browser/run.sh [WSGATE_BIN [WSGATE_ECHO_BIN]]   (or env WSGATE_BIN / WSGATE_ECHO_BIN;
#        default build/gateway/wsgate and build/tools/wsgate-echo)
# Env: CHROMIUM (default /usr/bin/chromium). Output: tests/browser/out/{demo.png,netlog.json}.
# Exit 0 when every check passed, 1 otherwise, 2 for a missing prerequisite.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wsgate=${1:-${WSGATE_BIN:-$repo/build/gateway/wsgate}}
echo_bin=${2:-${WSGATE_ECHO_BIN:-$repo/build/tools/wsgate-echo}}
chromium=${CHROMIUM:-/usr/bin/chromium}
kStartSeconds=10   # each process must print its listening line within this
kTestSeconds=60    # the whole browser session, net-log analysis included

fail_setup() {
  echo "browser: $*" >&2
  echo "browser: 0 passed, 1 failed"
  exit 2
}
for bin in "$wsgate" "$echo_bin"; do
  [[ -x "$bin" ]] || fail_setup "not an executable: $bin (build it, or pass WSGATE_BIN / WSGATE_ECHO_BIN)"
done
[[ -x "$chromium" ]] || fail_setup "no Chromium at $chromium (apt-get install -y chromium)"
command -v node >/dev/null || fail_setup "node not found (apt-get install -y nodejs npm)"
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  echo "browser: installing playwright-core (npm ci)"
  (cd "$here" && timeout 180 npm ci --no-audit --no-fund --loglevel=error) || fail_setup "npm ci failed"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-browser.XXXXXX")
pids=()
source "$repo/tests/lib/processes.sh"
cleanup() {
  kill_chromium_profile "$tmp/profile"
  stop_pids
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "browser: interrupted" >&2; echo "browser: 0 passed, 1 failed"; exit 1' INT TERM


"$repo/tools/gen-cert.sh" "$tmp/tls" >/dev/null

"$echo_bin" --listen 127.0.0.1:0 >"$tmp/echo.log" 2>&1 &
pids+=($!)
echo_port=$(wait_for_line "$tmp/echo.log" 'wsgate-echo listening on 127\.0\.0\.1:([0-9]+)' "${pids[-1]}") || {
  cat "$tmp/echo.log" >&2
  fail_setup "wsgate-echo did not start"
}

cat >"$tmp/wsgate.yaml" <<YAML
workers: 1
drain_timeout: 2s
listeners:
  - name: demo
    address: 127.0.0.1:0
    tls: {cert: $tmp/tls/cert.pem, key: $tmp/tls/key.pem}
    protocols: [h2, http/1.1]
admin:
  address: 127.0.0.1:0
access_log:
  path: "off"
routes:
  - name: deflate
    match:
      path_prefix: /deflate
    backend: echo
    compression: terminate
  - name: demo
    match:
      path_prefix: /
    backend: echo
    static: $repo/deploy/demo
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
YAML
"$wsgate" --check-config "$tmp/wsgate.yaml" >"$tmp/check.log" 2>&1 || {
  cat "$tmp/check.log" >&2
  fail_setup "wsgate refused the generated config"
}
"$wsgate" --config "$tmp/wsgate.yaml" >"$tmp/wsgate.out" 2>"$tmp/wsgate.err" &
pids+=($!)
port=$(wait_for_line "$tmp/wsgate.err" 'wsgate: listener demo listening on 127\.0\.0\.1:([0-9]+)' "${pids[-1]}") || {
  cat "$tmp/wsgate.err" >&2
  fail_setup "wsgate did not start"
}
echo "browser: wsgate on https://127.0.0.1:$port/ (echo backend 127.0.0.1:$echo_port)"

# In the background so that a signal to this script is handled at once (bash runs traps only
# between commands); cleanup stops it first, and it stops Chromium.
CHROMIUM="$chromium" OUT_DIR="$here/out" USER_DATA_DIR="$tmp/profile" \
  TEST_TIMEOUT_MS=$(((kTestSeconds - 10) * 1000)) \
  timeout --kill-after=5 "$kTestSeconds" node "$here/test.mjs" "https://127.0.0.1:$port/" &
test_pid=$!
pids=("$test_pid" "${pids[@]}")
status=0
wait "$test_pid" || status=$?
pids=("${pids[@]:1}")

if [[ $status -eq 0 ]]; then
  echo "browser: screenshot $here/out/demo.png"
  echo "browser: 1 passed, 0 failed"
  exit 0
fi
[[ $status -eq 124 ]] && echo "browser: timed out after ${kTestSeconds}s" >&2
echo "--- wsgate stderr (last 30 lines) ---" >&2
tail -n 30 "$tmp/wsgate.err" >&2
echo "browser: 0 passed, 1 failed"
exit 1
