# Process helpers shared by the shell-driven tests.
# Source it; the caller defines kStartSeconds and keeps the PIDs it started in `pids`
# (tests/browser, tests/observability, tests/conformance).

# wait_for_line FILE REGEX PID: prints the first capture group of the first matching line.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 line
  for _ in $(seq $((kStartSeconds * 10))); do
    line=$(grep -Eo -m1 "$regex" "$file" 2>/dev/null || true)
    if [[ -n "$line" ]]; then
      [[ "$line" =~ $regex ]] && echo "${BASH_REMATCH[1]}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# kill_chromium_profile DIR: ends any Chromium still running with this user-data-dir
# (Playwright ends it when node exits; this covers node being killed outright). Chromium
# leads its own process group.
kill_chromium_profile() {
  local dir=$1 proc pid
  for proc in /proc/[0-9]*; do
    grep -qzF -- "--user-data-dir=$dir" "$proc/cmdline" 2>/dev/null || continue
    pid=${proc#/proc/}
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
}

# stop_pids: SIGTERM every PID in `pids`, SIGKILL what is still there after 3 s, reap.
stop_pids() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# start_watchdog SECONDS: SIGTERMs this script after SECONDS (the caller traps TERM); the watchdog's
# PID goes into `pids` so stop_pids ends it.
start_watchdog() {
  local seconds=$1
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$seconds" &
    sleeper=$!
    wait "$sleeper"
    kill -TERM $$ 2>/dev/null
  ) &
  pids+=($!)
}

# start_echo BIN DIR: starts wsgate-echo on an ephemeral loopback port, log in DIR/echo.log; sets
# echo_port. Returns 1 (after printing the log) if it did not start within kStartSeconds.
start_echo() {
  local bin=$1 dir=$2
  "$bin" --listen 127.0.0.1:0 >"$dir/echo.log" 2>&1 &
  pids+=($!)
  echo_port=$(wait_for_line "$dir/echo.log" 'wsgate-echo listening on 127\.0\.0\.1:([0-9]+)' "${pids[-1]}") ||
    { cat "$dir/echo.log" >&2; return 1; }
}

# start_wsgate BIN CONFIG DIR: starts wsgate with CONFIG, output in DIR/wsgate.{out,err}; sets
# wsgate_pid and port (the port of the listener named "public"). Returns 1 (after printing its
# stderr) if it did not start within kStartSeconds.
start_wsgate() {
  local bin=$1 config=$2 dir=$3
  "$bin" --config "$config" >"$dir/wsgate.out" 2>"$dir/wsgate.err" &
  wsgate_pid=$!
  pids+=("$wsgate_pid")
  port=$(wait_for_line "$dir/wsgate.err" 'wsgate: listener public listening on 127\.0\.0\.1:([0-9]+)' "$wsgate_pid") ||
    { cat "$dir/wsgate.err" >&2; return 1; }
}
