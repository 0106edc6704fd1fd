#!/usr/bin/env bash
# Status-page browser test: wsgate-echo + wsgate (admin on 127.0.0.1:0), 2 WebSockets on route echo
# held open by a Python client, then status_page.mjs drives headless Chromium (playwright-core from
# tests/browser/node_modules) through http://127.0.0.1:ADMIN/ and waits for its self-refresh.
# Builds nothing.
# Usage: tests/observability/status_page.sh [WSGATE_BIN [WSGATE_ECHO_BIN]]
#        (or env WSGATE_BIN / WSGATE_ECHO_BIN; default build/gateway/wsgate and build/tools/wsgate-echo)
# Env: CHROMIUM (default /usr/bin/chromium). Output: tests/observability/out/{status-initial,status}.png.
# Exit 0 when every check passed, else 1. Last line: "status-page: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wsgate=${1:-${WSGATE_BIN:-$repo/build/gateway/wsgate}}
echo_bin=${2:-${WSGATE_ECHO_BIN:-$repo/build/tools/wsgate-echo}}
chromium=${CHROMIUM:-/usr/bin/chromium}
python=/usr/bin/python3
browser_dir=$repo/tests/browser
kStartSeconds=10   # each process must print its listening line within this
kTestSeconds=60    # the browser session

passed=0
failed=0
finish() {
  echo "status-page: $passed passed, $failed failed"
  [[ $failed -eq 0 && $passed -gt 0 ]] && exit 0
  exit 1
}
setup_failed() {
  echo "status-page: $*" >&2
  failed=$((failed + 1))
  finish
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-status.XXXXXX")
pids=()
source "$repo/tests/lib/processes.sh"
cleanup() {
  kill_chromium_profile "$tmp/profile"
  stop_pids
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "status-page: interrupted" >&2; failed=$((failed + 1)); finish' INT TERM

for bin in "$wsgate" "$echo_bin"; do
  [[ -x "$bin" ]] || setup_failed "not an executable: $bin (build it, or pass WSGATE_BIN / WSGATE_ECHO_BIN)"
done
[[ -x "$chromium" ]] || setup_failed "no Chromium at $chromium (apt-get install -y chromium)"
command -v node >/dev/null || setup_failed "node not found (apt-get install -y nodejs npm)"
"$python" -c 'import websockets' 2>/dev/null || setup_failed "python3 websockets missing (apt-get install -y python3-websockets)"
if [[ ! -d "$browser_dir/node_modules/playwright-core" ]]; then
  echo "status-page: installing playwright-core (npm ci --prefix tests/browser)"
  timeout 180 npm ci --prefix "$browser_dir" --no-audit --no-fund --loglevel=error || setup_failed "npm ci failed"
fi


start_echo "$echo_bin" "$tmp" || setup_failed "wsgate-echo did not start"

cat >"$tmp/wsgate.yaml" <<YAML
workers: 2
drain_timeout: 2s
listeners:
  - name: public
    address: 127.0.0.1:0
    protocols: [h2c, http/1.1]
admin:
  address: 127.0.0.1:0
access_log:
  path: "off"
routes:
  - name: echo
    match: {path_prefix: /echo}
    backend: echo
  - name: chat
    match: {path_prefix: /chat}
    backend: echo
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
YAML
"$wsgate" --config "$tmp/wsgate.yaml" >"$tmp/wsgate.out" 2>"$tmp/wsgate.err" &
wsgate_pid=$!
pids+=("$wsgate_pid")
port=$(wait_for_line "$tmp/wsgate.err" 'wsgate: listener public listening on 127\.0\.0\.1:([0-9]+)' "$wsgate_pid") ||
  { cat "$tmp/wsgate.err" >&2; setup_failed "wsgate did not start"; }
admin_port=$(wait_for_line "$tmp/wsgate.err" 'wsgate: admin listening on 127\.0\.0\.1:([0-9]+)' "$wsgate_pid") ||
  { cat "$tmp/wsgate.err" >&2; setup_failed "wsgate did not announce its admin listener"; }
echo "status-page: wsgate on 127.0.0.1:$port, status page http://127.0.0.1:$admin_port/"

# Two WebSockets on route echo, held open for the whole browser session.
cat >"$tmp/hold.py" <<'PY'
# Opens N WebSockets on URL, checks one echo on each, prints "open N", then holds them until killed.
import asyncio, sys
import websockets

async def main(url, n):
    conns = [await websockets.connect(url, open_timeout=5) for _ in range(n)]
    for i, ws in enumerate(conns):
        await ws.send("hello %d" % i)
        reply = await asyncio.wait_for(ws.recv(), 5)
        assert reply == "hello %d" % i, reply
    print("open %d" % n, flush=True)
    await asyncio.sleep(120)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
PY
"$python" "$tmp/hold.py" "ws://127.0.0.1:$port/echo" 2 >"$tmp/hold.log" 2>&1 &
pids+=($!)
if wait_for_line "$tmp/hold.log" '(open 2)' "${pids[-1]}" >/dev/null; then
  passed=$((passed + 1))
  echo "ok   2 WebSockets held open on route echo"
else
  cat "$tmp/hold.log" >&2
  setup_failed "could not open 2 WebSockets"
fi

# In the background so that a signal to this script is handled at once; cleanup stops it first.
CHROMIUM="$chromium" OUT_DIR="$here/out" USER_DATA_DIR="$tmp/profile" \
  TEST_TIMEOUT_MS=$(((kTestSeconds - 10) * 1000)) \
  timeout --kill-after=5 "$kTestSeconds" node "$here/status_page.mjs" \
  "http://127.0.0.1:$admin_port/" "ws://127.0.0.1:$port/echo" >"$tmp/node.log" 2>&1 &
test_pid=$!
pids=("$test_pid" "${pids[@]}")
status=0
wait "$test_pid" || status=$?
pids=("${pids[@]:1}")
grep -v '^checks: ' "$tmp/node.log"
if [[ "$(grep -Eo '^checks: [0-9]+ passed, [0-9]+ failed' "$tmp/node.log")" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
fi
if [[ $status -ne 0 && $failed -eq 0 ]]; then
  failed=$((failed + 1))
  [[ $status -eq 124 ]] && echo "status-page: timed out after ${kTestSeconds}s" >&2
  echo "FAIL node exited with status $status"
fi
if [[ $failed -ne 0 ]]; then
  echo "--- wsgate stderr (last 30 lines) ---" >&2
  tail -n 30 "$tmp/wsgate.err" >&2
else
  echo "status-page: screenshot $here/out/status.png"
fi
finish
