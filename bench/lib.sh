# Shared helpers of bench/run.sh and bench/smoke.sh: free ports, starting a pinned process and
# waiting for its port, stopping exactly the processes we started (by PID).
BENCH_PIDS=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {  # wait_port PORT [SECONDS]: true once something listens on 127.0.0.1:PORT
  local port=$1 limit=${2:-10} i
  for ((i = 0; i < limit * 20; i++)); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

start_pinned() {  # start_pinned CPU LOG CMD...: runs CMD on CPU in the background; sets STARTED_PID
  local cpu=$1 log=$2; shift 2
  taskset -c "$cpu" "$@" >"$log" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s; only PIDs we started
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
  BENCH_PIDS=()
}

cpu_ticks() {  # utime + stime of PID, in clock ticks (/proc/PID/stat fields 14 and 15)
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

rss_kib() {  # VmRSS of PID in KiB
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

json_field() {  # json_field JSON NAME: a number or string field of a flat JSON object
  python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2], ""); print(v)' "$1" "$2"
}
