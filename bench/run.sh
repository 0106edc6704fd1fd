#!/usr/bin/env bash
# Side-by-side benchmark: every scenario against each target in turn — wsgate-echo directly (the
# limit), wsgate (1 worker), nghttpx, HAProxy (mode http, and mode tcp as the floor), nginx (h1) —
# with the proxy pinned to CPU 0 and the load generator + echo backend to CPU 1. Writes
# bench/results/<date>.md (table), <date>.jsonl (every run) and <date>.png (chart).
# Usage: bench/run.sh [--quick]      (docs/benchmark.md). Builds wsgate, wsgate-echo, wsgate-load
# into BUILD_DIR (default build-bench) unless WSGATE_BIN/WSGATE_ECHO_BIN/WSGATE_LOAD_BIN are set.
# Subsets: BENCH_TARGETS="wsgate nginx", BENCH_SCENARIOS="h2-10x100-64B h1-churn-50" (names as in the
# table; a prefix ending in * matches, e.g. "h2-idle-*"); BENCH_RUNS=N overrides the runs per cell;
# BENCH_NAME=tag writes <tag>.{md,jsonl,png} instead of <date>.*; BENCH_RESULTS_DIR (default
# bench/results) is where they go.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

quick=0
[[ ${1:-} == --quick ]] && quick=1
if ((quick)); then RUNS=1; WARMUP=1; DURATION=3; IDLE_H1=1000; IDLE_H2_CONNS=10; H1_CONNS=1000; OPEN_RATE=5000
else RUNS=3; WARMUP=2; DURATION=10; IDLE_H1=10000; IDLE_H2_CONNS=100; H1_CONNS=1000; OPEN_RATE=5000; fi
IDLE_HOLD=3
RUNS=${BENCH_RUNS:-$RUNS}

BUILD_DIR=${BUILD_DIR:-build-bench}
if [[ -z ${WSGATE_BIN:-} ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSGATE_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target wsgate wsgate-echo wsgate-load
fi
WSGATE_BIN=${WSGATE_BIN:-$BUILD_DIR/gateway/wsgate}
WSGATE_ECHO_BIN=${WSGATE_ECHO_BIN:-$BUILD_DIR/tools/wsgate-echo}
WSGATE_LOAD_BIN=${WSGATE_LOAD_BIN:-$BUILD_DIR/tools/wsgate-load}

# Peers from Debian; installing does not start them (we run each in the foreground ourselves).
missing=()
command -v nghttpx >/dev/null || missing+=(nghttp2-proxy)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
if ((${#missing[@]})); then
  SUDO=$([[ $(id -u) == 0 ]] && echo "" || echo sudo)
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
# Every proxy needs two fds per proxied WebSocket (client side and backend side): the idle scenarios
# shrink to what the fd limit allows, for every target alike (h2: fewer streams per connection).
IDLE_H2_STREAMS=100
((NOFILE > 2 * IDLE_H1 + 100)) || { echo "run.sh: fd limit $NOFILE too low for $IDLE_H1 WebSockets"; IDLE_H1=$(((NOFILE - 200) / 2)); }
if ((NOFILE <= 2 * IDLE_H2_CONNS * IDLE_H2_STREAMS + 200)); then
  IDLE_H2_STREAMS=$(((NOFILE - 200) / 2 / IDLE_H2_CONNS))
  echo "run.sh: fd limit $NOFILE too low for $IDLE_H2_CONNS x 100 h2 WebSockets: $IDLE_H2_CONNS x $IDLE_H2_STREAMS"
fi
# Peers' connection limits (HAProxy maxconn, nginx worker_connections) follow the fd limit, so that
# they hold as many idle WebSockets as wsgate does.
PEER_MAXCONN=$(((NOFILE - 100) / 2))

date_tag=${BENCH_NAME:-$(date +%F)}
results_dir=${BENCH_RESULTS_DIR:-bench/results}
mkdir -p "$results_dir"
RAW=$results_dir/$date_tag.jsonl
# A BENCH_TARGETS/BENCH_SCENARIOS re-run without its own BENCH_NAME adds to the day's runs.
[[ -n ${BENCH_TARGETS:-}${BENCH_SCENARIOS:-} && -z ${BENCH_NAME:-} ]] || : >"$RAW"

work=$(mktemp -d)
trap 'stop_all; rm -rf "$work"' EXIT
PROXY_CPU=0
LOAD_CPU=1

# scenario name | mode | wsgate-load arguments
SCENARIOS=(
  "h2-10x100-64B|h2c|--connections 10 --streams 100 --size 64"
  "h1-${H1_CONNS}-64B|h1|--connections $H1_CONNS --size 64"
  "h2-1x16-64KiB|h2c|--connections 1 --streams 16 --size 65536"
  "h1-open-${OPEN_RATE}|h1|--connections 100 --size 64 --rate $OPEN_RATE"
  "h2-open-${OPEN_RATE}|h2c|--connections 10 --streams 10 --size 64 --rate $OPEN_RATE"
  "h2-idle-${IDLE_H2_CONNS}x${IDLE_H2_STREAMS}|h2c|--idle --connections $IDLE_H2_CONNS --streams $IDLE_H2_STREAMS"
  "h1-idle-${IDLE_H1}|h1|--idle --connections $IDLE_H1"
  "h2-churn-10x10|h2c|--churn --connections 10 --streams 10 --size 64"
  "h1-churn-50|h1|--churn --connections 50 --size 64"
)
# target name | protocols it serves
TARGETS=("direct|h1" "wsgate|h1 h2c" "nghttpx|h1 h2c" "haproxy|h1 h2c" "haproxy-tcp|h1" "nginx|h1")

start_target() {  # start_target NAME ECHO_PORT: sets PROXY_PID (empty for direct) and PORT
  local name=$1 echo_port=$2
  PORT=$(free_port)
  PROXY_PID=""
  case $name in
    direct) PORT=$echo_port; return 0 ;;
    wsgate)
      sed -e "s/@PORT@/$PORT/" -e "s/@ECHO@/127.0.0.1:$echo_port/" bench/peers/wsgate.yaml >"$work/wsgate.yaml"
      start_pinned $PROXY_CPU "$work/wsgate.log" "$WSGATE_BIN" --config "$work/wsgate.yaml" ;;
    nghttpx)
      sed -e "s/@PORT@/$PORT/" -e "s/@ECHO_HOST@/127.0.0.1/" -e "s/@ECHO_PORT@/$echo_port/" -e "s|@DIR@|$work|" \
        bench/peers/nghttpx.conf >"$work/nghttpx.conf"
      start_pinned $PROXY_CPU "$work/nghttpx.log" nghttpx --conf="$work/nghttpx.conf" ;;
    haproxy | haproxy-tcp)
      local tcp_port
      tcp_port=$(free_port)
      sed -e "s/@PORT@/$PORT/" -e "s/@TCP_PORT@/$tcp_port/" -e "s/@ECHO@/127.0.0.1:$echo_port/" \
        -e "s/@MAXCONN@/$PEER_MAXCONN/g" \
        bench/peers/haproxy.cfg >"$work/haproxy.cfg"
      start_pinned $PROXY_CPU "$work/haproxy.log" haproxy -db -f "$work/haproxy.cfg"
      [[ $name == haproxy-tcp ]] && PORT=$tcp_port ;;
    nginx)
      mkdir -p "$work/nginx-body"
      sed -e "s/@PORT@/$PORT/" -e "s/@ECHO@/127.0.0.1:$echo_port/" -e "s|@DIR@|$work|g" \
        -e "s/@NOFILE@/$NOFILE/" -e "s/@WORKER_CONNECTIONS@/$((2 * PEER_MAXCONN))/" \
        bench/peers/nginx.conf >"$work/nginx.conf"
      start_pinned $PROXY_CPU "$work/nginx.log" nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx.err" ;;
  esac
  PROXY_PID=$STARTED_PID
  wait_port "$PORT" 10 || { echo "run.sh: $name did not start"; cat "$work/$name.log" 2>/dev/null; return 1; }
  if [[ $name == nginx ]]; then  # the master forks the worker that does the work
    sleep 0.3
    PROXY_PID=$(pgrep -P "$PROXY_PID" | head -1)
  fi
}

run_one() {  # run_one TARGET SCENARIO MODE RUN ARGS...: one wsgate-load run, appends a JSON line to $RAW
  local target=$1 scenario=$2 mode=$3 run=$4; shift 4
  local load_log=$work/load.err out_file=$work/load.out rss=0 cpu0=0 cpu1=0 t0 t1 load_pid base_rss=0
  [[ -n $PROXY_PID ]] && base_rss=$(rss_kib "$PROXY_PID")
  taskset -c $LOAD_CPU "$WSGATE_LOAD_BIN" --json --mode "$mode" --target "127.0.0.1:$PORT" \
    --warmup "$WARMUP" --duration "$DURATION" "$@" >"$out_file" 2>"$load_log" &
  load_pid=$!
  if [[ " $* " == *" --idle "* ]]; then
    # Hold phase: every WebSocket is open; the proxy's RSS now is what they cost.
    for ((i = 0; i < 1200; i++)); do grep -q established "$load_log" 2>/dev/null && break; sleep 0.05; done
    sleep 1
    [[ -n $PROXY_PID ]] && rss=$(rss_kib "$PROXY_PID")
  else
    sleep "$WARMUP"; sleep 0.5
    t0=$(date +%s.%N); [[ -n $PROXY_PID ]] && cpu0=$(cpu_ticks "$PROXY_PID")
    sleep "$(python3 -c "print($DURATION - 1.0)")"
    t1=$(date +%s.%N); [[ -n $PROXY_PID ]] && cpu1=$(cpu_ticks "$PROXY_PID")
    [[ -n $PROXY_PID ]] && rss=$(rss_kib "$PROXY_PID")
  fi
  local rc=0
  wait "$load_pid" || rc=$?
  local json
  json=$(tail -1 "$out_file")
  [[ $json == \{* ]] || json='{"errors":1,"messages":0}'
  python3 - "$json" "$target" "$scenario" "$run" "$rc" "${t0:-0}" "${t1:-0}" "$cpu0" "$cpu1" "$rss" "$base_rss" \
    "$(getconf CLK_TCK)" >>"$RAW" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
target, scenario, run, rc, t0, t1, c0, c1, rss, base, tck = sys.argv[2:]
j.update(target=target, scenario=scenario, run=int(run), rc=int(rc), proxy_rss_kib=int(rss),
         proxy_base_rss_kib=int(base))
dt = float(t1) - float(t0)
cpu_s = (float(c1) - float(c0)) / float(tck)
rate = j.get("handshakes_per_s") if j.get("kind") == "churn" else j.get("msgs_per_s", 0)
j["proxy_cpu_s_per_M"] = round(cpu_s / (rate * dt) * 1e6, 2) if rate and dt > 0 and target != "direct" else None
print(json.dumps(j))
PY
  echo "  $target $scenario run $run: $(tail -1 "$RAW" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("{} msg/s p50 {} us p99 {} us hs/s {} est {} rss {} KiB errors {}".format(j.get("msgs_per_s"), j.get("p50_us"), j.get("p99_us"), j.get("handshakes_per_s"), j.get("established"), j["proxy_rss_kib"], j.get("errors")))')"
  [[ -s $load_log ]] && grep -v established "$load_log" | head -3 | sed 's/^/    /' || true
}

scenario_selected() {  # scenario_selected NAME: true if BENCH_SCENARIOS is unset or names it
  local pattern patterns
  [[ -z ${BENCH_SCENARIOS:-} ]] && return 0
  read -ra patterns <<<"$BENCH_SCENARIOS"
  for pattern in "${patterns[@]}"; do
    # shellcheck disable=SC2053
    [[ $1 == $pattern ]] && return 0
  done
  return 1
}

for entry in "${TARGETS[@]}"; do
  target=${entry%%|*}
  protocols=${entry#*|}
  # BENCH_TARGETS="wsgate nginx" runs only those targets.
  [[ -z ${BENCH_TARGETS:-} || " $BENCH_TARGETS " == *" $target "* ]] || continue
  echo "== $target"
  for scenario_entry in "${SCENARIOS[@]}"; do
    IFS='|' read -r scenario mode args <<<"$scenario_entry"
    [[ " $protocols " == *" $mode "* ]] || continue
    scenario_selected "$scenario" || continue
    for ((run = 1; run <= RUNS; run++)); do
      # A fresh echo backend and proxy per run: idle and churn scenarios leave state behind.
      echo_port=$(free_port)
      start_pinned $LOAD_CPU "$work/echo.log" "$WSGATE_ECHO_BIN" --listen "127.0.0.1:$echo_port"
      echo_pid=$STARTED_PID
      wait_port "$echo_port" 10
      if start_target "$target" "$echo_port"; then
        # shellcheck disable=SC2086
        run_one "$target" "$scenario" "$mode" "$run" $args
      fi
      stop_all
    done
  done
done

python3 bench/report.py "$RAW" "$results_dir/$date_tag.md" "$results_dir/$date_tag.dat" \
  "cpu: proxy on CPU $PROXY_CPU, load generator + echo backend on CPU $LOAD_CPU; runs per cell: $RUNS; warm-up ${WARMUP}s, measured ${DURATION}s$( ((quick)) && echo ' (quick mode)')"
ncols=$(head -1 "$results_dir/$date_tag.dat" | wc -w)
gnuplot -e "datafile='$results_dir/$date_tag.dat'; outfile='$results_dir/$date_tag.png'; ncols=$ncols" bench/chart.gp
echo "run.sh: wrote $results_dir/$date_tag.md and $results_dir/$date_tag.png"
