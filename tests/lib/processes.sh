# Process helpers shared by the shell-driven tests (tests/browser, tests/observability).
# Source it; the caller defines kStartSeconds and keeps the PIDs it started in `pids`.

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
