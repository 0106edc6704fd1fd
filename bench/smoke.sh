#!/usr/bin/env bash
# CI smoke test of the benchmark tools, bounded (< 60 s), no performance assertions: wsgate-load
# against wsgate-echo directly (h1) and through wsgate (h1, h2c) for ~2 s each; every run must
# finish with errors == 0 and messages > 0. Builds nothing; binaries from WSGATE_BIN,
# WSGATE_ECHO_BIN, WSGATE_LOAD_BIN or build/.
# Usage: bench/smoke.sh        prints "bench-smoke: N passed, M failed"; exit 1 on any failure
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WSGATE_BIN=${WSGATE_BIN:-build/gateway/wsgate}
WSGATE_ECHO_BIN=${WSGATE_ECHO_BIN:-build/tools/wsgate-echo}
WSGATE_LOAD_BIN=${WSGATE_LOAD_BIN:-build/tools/wsgate-load}
for bin in "$WSGATE_BIN" "$WSGATE_ECHO_BIN" "$WSGATE_LOAD_BIN"; do
  [[ -x $bin ]] || { echo "bench-smoke: missing $bin"; echo "bench-smoke: 0 passed, 1 failed"; exit 1; }
done
work=$(mktemp -d)
trap 'stop_all; rm -rf "$work"' EXIT

passed=0
failed=0
check() {  # check NAME LOAD-ARGS...: one wsgate-load run must pass
  local name=$1; shift
  local out rc errors messages
  out=$(timeout 20 "$WSGATE_LOAD_BIN" --json --warmup 0.3 --duration 2 --max-seconds 15 "$@" 2>"$work/$name.err")
  rc=$?
  errors=$(json_field "$out" errors 2>/dev/null)
  messages=$(json_field "$out" messages 2>/dev/null)
  if ((rc == 0)) && [[ $errors == 0 ]] && [[ ${messages:-0} -gt 0 ]]; then
    echo "ok   $name: $messages messages, 0 errors"
    passed=$((passed + 1))
  else
    echo "FAIL $name: rc=$rc errors=${errors:-?} messages=${messages:-?}"
    sed 's/^/     /' "$work/$name.err" | head -5
    failed=$((failed + 1))
  fi
}

echo_port=$(free_port)
"$WSGATE_ECHO_BIN" --listen "127.0.0.1:$echo_port" >"$work/echo.log" 2>&1 &
BENCH_PIDS+=($!)
gw_port=$(free_port)
sed -e "s/@PORT@/$gw_port/" -e "s/@ECHO@/127.0.0.1:$echo_port/" bench/peers/wsgate.yaml >"$work/wsgate.yaml"
"$WSGATE_BIN" --config "$work/wsgate.yaml" >"$work/wsgate.log" 2>&1 &
BENCH_PIDS+=($!)
if ! wait_port "$echo_port" 10 || ! wait_port "$gw_port" 10; then
  echo "bench-smoke: echo or gateway did not start"; cat "$work/echo.log" "$work/wsgate.log"
  echo "bench-smoke: 0 passed, 1 failed"; exit 1
fi

check direct-h1      --mode h1  --target "127.0.0.1:$echo_port" --connections 10
check direct-h1-text --mode h1  --target "127.0.0.1:$echo_port" --connections 4 --size 70000 --text
check wsgate-h1      --mode h1  --target "127.0.0.1:$gw_port" --connections 10
check wsgate-h2c     --mode h2c --target "127.0.0.1:$gw_port" --connections 2 --streams 10
check wsgate-h2c-64k --mode h2c --target "127.0.0.1:$gw_port" --connections 1 --streams 4 --size 65536
check wsgate-h2c-open --mode h2c --target "127.0.0.1:$gw_port" --connections 2 --streams 10 --rate 2000

echo "bench-smoke: ${passed} passed, ${failed} failed"
((failed == 0))
