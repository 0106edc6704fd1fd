#!/usr/bin/env bash
# permessage-deflate with a real third-party client: Debian's python3-websockets (which offers
# "permessage-deflate; client_max_window_bits" by default) through wsgate to wsgate-echo, over
# compression: terminate (default options, small windows + no context takeover, the bomb limit),
# passthrough and off. Builds nothing.
# Usage: tests/compression/python_client_test.sh [WSGATE_BIN [WSGATE_ECHO_BIN]]
#        (or env WSGATE_BIN / WSGATE_ECHO_BIN; default build/gateway/wsgate and build/tools/wsgate-echo)
# Exit 0 when every check passed, else 1. Last line: "compression: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wsgate=${1:-${WSGATE_BIN:-$repo/build/gateway/wsgate}}
echo_bin=${2:-${WSGATE_ECHO_BIN:-$repo/build/tools/wsgate-echo}}
python=/usr/bin/python3
kStartSeconds=10   # each process: its listening line within this
kTestSeconds=60    # the Python client, all checks

setup_failed() {
  echo "compression: $*" >&2
  echo "compression: 0 passed, 1 failed"
  exit 1
}
for bin in "$wsgate" "$echo_bin"; do
  [[ -x "$bin" ]] || setup_failed "not an executable: $bin"
done
"$python" -c 'import websockets' 2>/dev/null || setup_failed "python3-websockets missing (tools/install-deps.sh)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-compression.XXXXXX")
pids=()
source "$repo/tests/lib/processes.sh"
cleanup() {
  stop_pids
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "compression: interrupted" >&2; echo "compression: 0 passed, 1 failed"; exit 1' INT TERM

start_echo "$echo_bin" "$tmp" || setup_failed "wsgate-echo did not start"

cat >"$tmp/wsgate.yaml" <<YAML
workers: 1
drain_timeout: 2s
listeners:
  - name: main
    address: 127.0.0.1:0
    protocols: [h2c, http/1.1]
admin:
  enabled: false
access_log:
  path: "off"
routes:
  - name: terminate
    match: {path: /terminate}
    backend: echo
    compression: terminate
    validate: full
  - name: small
    match: {path: /small}
    backend: echo
    compression: terminate
    deflate:
      server_max_window_bits: 10
      client_max_window_bits: 9
      server_no_context_takeover: true
      client_no_context_takeover: true
      mem_level: 4
  - name: bomb
    match: {path: /bomb}
    backend: echo
    compression: terminate
    deflate: {max_inflated_message_bytes: 64KiB}
  - name: off
    match: {path: /off}
    backend: echo
    compression: "off"
  - name: passthrough
    backend: echo
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
YAML
"$wsgate" --config "$tmp/wsgate.yaml" >"$tmp/wsgate.out" 2>"$tmp/wsgate.err" &
pids+=($!)
port=$(wait_for_line "$tmp/wsgate.err" 'wsgate: listener main listening on 127\.0\.0\.1:([0-9]+)' "${pids[-1]}") ||
  { cat "$tmp/wsgate.err" >&2; setup_failed "wsgate did not start"; }

cat >"$tmp/client.py" <<'PY'
# Each check prints "ok   NAME" or "FAIL NAME — detail"; the last line counts them.
import asyncio, json, sys
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

base = sys.argv[1]
passed = failed = 0

def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok   " if ok else "FAIL ") + name + (" — " + str(detail) if detail else ""), flush=True)

def answer(ws):
    return ws.response_headers.get("Sec-WebSocket-Extensions", "")

async def echo_all(ws, name):
    text = json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a", "b"]} for i in range(20000)])
    messages = ["hello", "", "héllo ✓ " * 100, text, bytes(range(256)) * 300, b"\0" * 500000]
    for m in messages:
        await ws.send(m)
        got = await asyncio.wait_for(ws.recv(), 10)
        if got != m:
            check(name + ": echo", False, "%d bytes back for %d" % (len(got), len(m)))
            return
    check(name + ": %d messages echoed (text, binary, 0 B..1 MB)" % len(messages), True)

async def main():
    async with websockets.connect(base + "/terminate", max_size=None) as ws:
        check("terminate: permessage-deflate negotiated", answer(ws) == "permessage-deflate", answer(ws))
        check("terminate: client runs the extension", [e.name for e in ws.extensions] == ["permessage-deflate"])
        await echo_all(ws, "terminate")
    async with websockets.connect(base + "/small", max_size=None) as ws:
        want = ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                "server_max_window_bits=10; client_max_window_bits=9")
        check("small windows: answer", answer(ws) == want, answer(ws))
        await echo_all(ws, "small windows")
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=9, client_max_window_bits=True)
    async with websockets.connect(base + "/terminate", extensions=[factory], compression=None, max_size=None) as ws:
        check("client asks server_max_window_bits=9", answer(ws) == "permessage-deflate; server_max_window_bits=9",
              answer(ws))
        await echo_all(ws, "server window 9")
    async with websockets.connect(base + "/terminate", compression=None, max_size=None) as ws:
        check("terminate without an offer: no extension", answer(ws) == "", answer(ws))
        await echo_all(ws, "terminate, uncompressed client")
    async with websockets.connect(base + "/bomb", max_size=None) as ws:
        await ws.send("a" * 65536)
        check("bomb route: a message at the limit echoes", await asyncio.wait_for(ws.recv(), 10) == "a" * 65536)
        await ws.send(b"\0" * (8 << 20))
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check("bomb: closed with 1009", False, "got a message")
        except websockets.ConnectionClosed as e:
            check("bomb: closed with 1009", e.rcvd is not None and e.rcvd.code == 1009, e)
    async with websockets.connect(base + "/passthrough", max_size=None) as ws:
        # wsgate-echo agrees: negotiated end to end, relayed as is.
        check("passthrough: the backend's answer", answer(ws).startswith("permessage-deflate"), answer(ws))
        await echo_all(ws, "passthrough")
    async with websockets.connect(base + "/off", max_size=None) as ws:
        check("off: no extension", answer(ws) == "", answer(ws))
        await echo_all(ws, "off")
    print("checks: %d passed, %d failed" % (passed, failed), flush=True)

asyncio.run(main())
PY

timeout --kill-after=5 "$kTestSeconds" "$python" "$tmp/client.py" "ws://127.0.0.1:$port" >"$tmp/client.log" 2>&1 &
test_pid=$!
pids=("$test_pid" "${pids[@]}")
status=0
wait "$test_pid" || status=$?
pids=("${pids[@]:1}")
grep -v '^checks: ' "$tmp/client.log"
passed=0
failed=0
if [[ "$(grep -Eo '^checks: [0-9]+ passed, [0-9]+ failed' "$tmp/client.log")" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=${BASH_REMATCH[1]}
  failed=${BASH_REMATCH[2]}
fi
if [[ $status -ne 0 && $failed -eq 0 ]]; then
  failed=1
  echo "FAIL client exited with status $status"
fi
if [[ $failed -ne 0 ]]; then
  echo "--- wsgate stderr (last 30 lines) ---" >&2
  tail -n 30 "$tmp/wsgate.err" >&2
fi
echo "compression: $passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
