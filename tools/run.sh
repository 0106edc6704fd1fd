#!/usr/bin/env bash
# README command 1: installs what is missing, builds, and starts the bundled echo
# backend and wsgate on deploy/wsgate.yaml. Ctrl-C stops both.
# Usage: tools/run.sh [config.yaml]   (default deploy/wsgate.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."

config=${1:-deploy/wsgate.yaml}
tools/install-deps.sh
tools/build.sh release --target wsgate wsgate-echo

tools/gen-cert.sh build/tls >/dev/null   # self-signed, for the TLS listener of the default config
build/gateway/wsgate --check-config "$config"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

build/tools/wsgate-echo --listen 127.0.0.1:9000 &
pids+=($!)
build/gateway/wsgate --config "$config" &
pids+=($!)

sleep 1
cat <<MSG

wsgate is running (config: $config)
  WebSocket echo through the gateway:  ws://127.0.0.1:8080/echo   wss://127.0.0.1:8443/echo
  try it:   /usr/bin/python3 -m websockets ws://127.0.0.1:8080/echo
  demo page (browser):   http://127.0.0.1:8080/   https://127.0.0.1:8443/ (self-signed, HTTP/2)
  admin:    http://127.0.0.1:9901/ (status)   http://127.0.0.1:9901/metrics
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
