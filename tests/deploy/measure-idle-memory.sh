#!/usr/bin/env bash
# Measures wsgate's memory and file descriptors per idle WebSocket, over HTTP/1.1 and HTTP/2.
#   tests/deploy/measure-idle-memory.sh [WSGATE] [WSGATE_ECHO] [N]
# Defaults: build/gateway/wsgate build/tools/wsgate-echo 2000. Loopback only, ephemeral
# ports, bounded (each client gives up after 120 s). Not part of tools/test.sh: it is the
# measurement behind docs/operations.md's capacity table; run it on the machine you size.
set -euo pipefail
cd "$(dirname "$0")/../.."
wsgate=${1:-build/gateway/wsgate}
echo_bin=${2:-build/tools/wsgate-echo}
n=${3:-2000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo_port=$(free_port); port=$(free_port); admin=$(free_port)

"$echo_bin" --listen "127.0.0.1:$echo_port" --threads 1 >"$tmp/echo.log" 2>&1 &
pids+=($!)
cat >"$tmp/wsgate.yaml" <<YAML
workers: 2
drain_timeout: 1s
listeners:
  - name: public
    address: 127.0.0.1:$port
    protocols: [h2c, http/1.1]
admin:
  address: 127.0.0.1:$admin
access_log:
  path: "off"
routes:
  - name: echo
    match: {path_prefix: /echo}
    backend: echo
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
YAML

measure() {  # measure h1|h2 : a fresh wsgate per protocol so one run does not warm the other
  "$wsgate" --config "$tmp/wsgate.yaml" >"$tmp/wsgate.log" 2>&1 &
  local gw=$!
  pids+=("$gw")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  if [[ $1 == h1 ]]; then
    /usr/bin/python3 tests/deploy/idle_ws_h1.py "$gw" "$port" "$n"
  else
    node tests/deploy/idle_ws_h2.js "$gw" "$port" "$n" $(( n / 500 > 4 ? (n + 499) / 500 : 4 ))
  fi
  kill -TERM "$gw"; wait "$gw" || true
}
measure h1
measure h2
