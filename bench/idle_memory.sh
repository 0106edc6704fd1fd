#!/usr/bin/env bash
# Memory, kernel memory and file descriptors per idle WebSocket through wsgate, over HTTP/1.1 and
# HTTP/2 (h2c): the measurement behind docs/operations.md's capacity table.
#   bench/idle_memory.sh [h1|h2|both]                                         [both]
# Environment: WSGATE_BIN, WSGATE_ECHO_BIN, WSGATE_LOAD_BIN (default build/gateway/wsgate,
# build/tools/wsgate-echo, build/tools/wsgate-load; nothing is built), IDLE_N (h1 WebSockets,
# default 9000), IDLE_H2_CONNS x IDLE_H2_STREAMS (h2, default 100 x 100), WORKERS (default 2),
# HOLD (seconds the WebSockets stay open, default 8).
# Per protocol: a fresh echo backend and wsgate; 50 WebSockets opened and closed (warm-up, spread
# over the workers: thread arenas, code pages, lazily built tables); then VmRSS and the fd count of wsgate, /proc/net/sockstat
# and the socket slabs of /proc/slabinfo are read; wsgate-load --idle opens the WebSockets (no data,
# no pings, no compression); 2 s after all are established everything is read again. Per WebSocket:
# RSS and fd deltas of wsgate / N. Kernel memory per socket: the socket slabs' growth / the growth of
# TCP sockets in use (system-wide: the load generator's and echo's sockets count too, which is why it
# is per socket), times wsgate's sockets per WebSocket. Loopback only, ephemeral ports, every wait
# bounded; stops only the processes it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

which=${1:-both}
WSGATE_BIN=${WSGATE_BIN:-build/gateway/wsgate}
WSGATE_ECHO_BIN=${WSGATE_ECHO_BIN:-build/tools/wsgate-echo}
WSGATE_LOAD_BIN=${WSGATE_LOAD_BIN:-build/tools/wsgate-load}
IDLE_N=${IDLE_N:-9000}
IDLE_H2_CONNS=${IDLE_H2_CONNS:-100}
IDLE_H2_STREAMS=${IDLE_H2_STREAMS:-100}
WORKERS=${WORKERS:-2}
HOLD=${HOLD:-8}

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if ((NOFILE < 2 * IDLE_N + 200)); then
  IDLE_N=$(((NOFILE - 200) / 2))
  echo "idle_memory.sh: fd limit $NOFILE: h1 with $IDLE_N WebSockets"
fi

work=$(mktemp -d)
trap 'stop_all; rm -rf "$work"' EXIT
SLABS="TCP sock_inode_cache filp dentry eventpoll_epi eventpoll_pwq"

snapshot() {  # snapshot PID FILE: key=value lines
  local pid=$1 out=$2 s
  {
    echo "rss_kib=$(rss_kib "$pid")"
    echo "fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)"
    awk '/^TCP:/ {print "tcp_inuse=" $3; print "tcp_mem_pages=" $NF} /^sockets:/ {print "sockets_used=" $3}' /proc/net/sockstat
    for s in $SLABS; do
      awk -v s="$s" '$1 == s {print "slab_" s "=" $2; print "objsize_" s "=" $4}' /proc/slabinfo 2>/dev/null
    done
  } >"$out"
}

measure() {  # measure h1|h2
  local proto=$1 echo_port port mode n load_args
  echo_port=$(free_port)
  port=$(free_port)
  start_pinned 0-1 "$work/echo.log" "$WSGATE_ECHO_BIN" --listen "127.0.0.1:$echo_port"
  wait_port "$echo_port" 10 || { echo "idle_memory.sh: echo did not start"; return 1; }
  cat >"$work/wsgate.yaml" <<YAML
workers: $WORKERS
drain_timeout: 1s
listeners:
  - name: bench
    address: 127.0.0.1:$port
    protocols: [h2c, http/1.1]
    max_connections: 100000
admin:
  enabled: false
access_log:
  path: "off"
routes:
  - name: echo
    match: {path_prefix: /}
    backend: echo
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
    protocol: http/1.1
YAML
  start_pinned 0-1 "$work/wsgate.log" "$WSGATE_BIN" --config "$work/wsgate.yaml"
  local gw=$STARTED_PID
  wait_port "$port" 10 || { echo "idle_memory.sh: wsgate did not start"; cat "$work/wsgate.log"; return 1; }
  if [[ $proto == h1 ]]; then
    mode=h1; n=$IDLE_N; load_args=(--connections "$IDLE_N")
    "$WSGATE_LOAD_BIN" --mode h1 --target "127.0.0.1:$port" --idle --connections 50 \
      --warmup 0 --duration 1 --max-seconds 30 --json >/dev/null 2>&1 || true
  else
    mode=h2c; n=$((IDLE_H2_CONNS * IDLE_H2_STREAMS)); load_args=(--connections "$IDLE_H2_CONNS" --streams "$IDLE_H2_STREAMS")
    "$WSGATE_LOAD_BIN" --mode h2c --target "127.0.0.1:$port" --idle --connections 10 --streams 5 \
      --warmup 0 --duration 1 --max-seconds 30 --json >/dev/null 2>&1 || true
  fi
  sleep 1
  snapshot "$gw" "$work/before"
  local uptime_before
  uptime_before=$(uptime)
  "$WSGATE_LOAD_BIN" --mode "$mode" --target "127.0.0.1:$port" --idle "${load_args[@]}" \
    --warmup 0 --duration "$HOLD" --max-seconds $((HOLD + 120)) --json >"$work/load.out" 2>"$work/load.err" &
  local load_pid=$!
  local i
  for ((i = 0; i < 2400; i++)); do grep -q established "$work/load.err" 2>/dev/null && break; sleep 0.05; done
  sleep 2
  snapshot "$gw" "$work/after"
  local rc=0
  wait "$load_pid" || rc=$?
  /usr/bin/python3 - "$proto" "$n" "$IDLE_H2_STREAMS" "$WORKERS" "$rc" "$work/before" "$work/after" \
    "$(tail -1 "$work/load.out")" "$uptime_before" "$(uptime)" <<'PY'
import json, sys
proto, n, m, workers, rc, fb, fa, load_json, up0, up1 = sys.argv[1:]
n, m = int(n), int(m)
def read(path):
    return {k: int(v) for k, v in (l.strip().split("=", 1) for l in open(path) if "=" in l)}
b, a = read(fb), read(fa)
d = {k: a[k] - b.get(k, 0) for k in a}
try:
    established = json.loads(load_json).get("established")
except ValueError:
    established = None
slabs = ["TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi", "eventpoll_pwq"]
print(f"== {proto}: {n} idle WebSockets ({'%d x %d streams' % (n // m, m) if proto == 'h2' else 'one TCP connection each'}), "
      f"wsgate workers {workers}; established {established}, load rc {rc}")
print(f"   load before: {up0.strip()}")
print(f"   load after:  {up1.strip()}")
print(f"   wsgate VmRSS {b['rss_kib']} -> {a['rss_kib']} KiB: {d['rss_kib'] * 1024 / n:,.0f} B "
      f"({d['rss_kib'] / n:.2f} KiB) per WebSocket")
print(f"   wsgate fds {b['fds']} -> {a['fds']}: {d['fds'] / n:.3f} per WebSocket")
tcp = d["tcp_inuse"]
print(f"   TCP sockets in use (system) {b['tcp_inuse']} -> {a['tcp_inuse']} (+{tcp}: {tcp / n:.2f} per WebSocket, "
      f"client + gateway + echo); TCP buffer memory {b['tcp_mem_pages']} -> {a['tcp_mem_pages']} pages")
if tcp > 0 and "slab_TCP" in a:
    total_size = 0
    parts = []
    for s in slabs:
        if f"slab_{s}" not in a:
            continue
        size = a[f"objsize_{s}"]
        per = d[f"slab_{s}"] / tcp
        total_size += size
        parts.append(f"{s} {size} B (+{per:.2f}/socket)")
    print("   slab object sizes, growth per TCP socket: " + ", ".join(parts))
    grown = sum(d[f"slab_{s}"] * a[f"objsize_{s}"] for s in slabs if f"slab_{s}" in a) / tcp
    print(f"   kernel memory per idle socket: {total_size} B by object size (one of each), "
          f"{grown:,.0f} B by slab growth (active objects; dentry/filp are noisy on a busy machine)")
    gw_sockets = 2 if proto == "h1" else 1 + 1 / m
    print(f"   per WebSocket ({gw_sockets:.2f} wsgate sockets): {gw_sockets * total_size / 1024:.2f} KiB by object size")
PY
  stop_all
}

[[ $which == h1 || $which == both ]] && measure h1
[[ $which == h2 || $which == both ]] && measure h2
exit 0
