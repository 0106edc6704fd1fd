#!/usr/bin/env bash
# Autobahn-style conformance (tests/conformance/autobahn.py, cases 1.* to 13.*): runs every case
# against wsgate-echo directly, then through wsgate (HTTP/1.1, route with `validate: full` and
# `compression: passthrough`) to the same echo, and fails if a case FAILED in either run or if a
# verdict through the gateway differs from the direct one (beyond known-differences.txt). Both
# processes run here on ephemeral loopback ports. See docs/conformance.md.
# Usage: tests/conformance/run.sh [WSGATE_BIN [WSGATE_ECHO_BIN]]
#        (or env WSGATE_BIN / WSGATE_ECHO_BIN; default build/gateway/wsgate and build/tools/wsgate-echo)
# Env: CONFORMANCE_CASES (default "*"), CONFORMANCE_OUT (keep the reports and logs in this directory),
#      CONFORMANCE_DEFLATE_MESSAGES (messages per 12.*/13.* case; default 10, Autobahn sends 1000).
# Exit 0 when both runs have no FAILED case and the verdicts agree, else 1.
# Takes about 30 s.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wsgate=${1:-${WSGATE_BIN:-$repo/build/gateway/wsgate}}
echo_bin=${2:-${WSGATE_ECHO_BIN:-$repo/build/tools/wsgate-echo}}
cases=${CONFORMANCE_CASES:-*}
deflate_messages=${CONFORMANCE_DEFLATE_MESSAGES:-10}
python=/usr/bin/python3
kTotalSeconds=300   # the whole script, watchdog-enforced
kStartSeconds=10    # each process: its listening line within this

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-conformance.XXXXXX")
out=${CONFORMANCE_OUT:-$tmp}
mkdir -p "$out"
pids=()
source "$repo/tests/lib/processes.sh"
cleanup() {
  stop_pids
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "conformance: interrupted or out of time (${kTotalSeconds}s)" >&2; exit 1' INT TERM

start_watchdog "$kTotalSeconds"

for bin in "$wsgate" "$echo_bin"; do
  [[ -x "$bin" ]] || { echo "conformance: not an executable: $bin" >&2; exit 1; }
done
start=$(date +%s)

start_echo "$echo_bin" "$tmp" || { echo "conformance: wsgate-echo did not start" >&2; exit 1; }

cat >"$tmp/wsgate.yaml" <<YAML
workers: 2
drain_timeout: 2s
listeners:
  - name: public
    address: 127.0.0.1:0
    protocols: [http/1.1]
admin:
  enabled: false
access_log:
  path: "off"
routes:
  - name: echo
    match: {path_prefix: /}
    backend: echo
    validate: full
    compression: passthrough
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
YAML
start_wsgate "$wsgate" "$tmp/wsgate.yaml" "$tmp" || { echo "conformance: wsgate did not start" >&2; exit 1; }
echo "conformance: wsgate-echo on 127.0.0.1:$echo_port, wsgate on 127.0.0.1:$port"

# run_suite NAME URL CASES [extra runner args]: the runner's lines go to $out/NAME.txt; prints the
# cases that are not OK (or UNIMPLEMENTED) and the summary.
run_suite() {
  local name=$1 url=$2 selected=$3
  shift 3
  echo "-- $name: $url"
  "$python" "$here/autobahn.py" --url "$url" --cases "$selected" --deflate-messages "$deflate_messages" \
    --report "$out/$name.json" "$@" >"$out/$name.txt" 2>&1
  grep -v -E '^[0-9.]+ +(OK|UNIMPLEMENTED) ' "$out/$name.txt"
}

# compare_runs DIRECT GATEWAY: 0 when no case FAILED and the verdicts agree (beyond the known list).
compare_runs() {
  rm -f "$out/differences.txt"
  [[ -f "$out/$1.json" && -f "$out/$2.json" ]] || return 1
  "$python" "$here/autobahn.py" --compare "$out/$1.json" "$out/$2.json" \
    --known "$here/known-differences.txt" --differences "$out/differences.txt"
}

failed=0
run_suite direct "ws://127.0.0.1:$echo_port/" "$cases"
run_suite gateway "ws://127.0.0.1:$port/" "$cases"
echo "-- verdicts direct vs through wsgate"
if ! compare_runs direct gateway; then
  # Timing-sensitive cases (a 0.5-1 s allowance) can miss on a busy machine: run the offending
  # cases again, one at a time; a real defect fails again.
  retry=$(cat "$out/differences.txt" 2>/dev/null)
  if [[ -n "$retry" ]]; then
    echo "-- again, one at a time: $retry"
    run_suite direct-retry "ws://127.0.0.1:$echo_port/" "$retry" --jobs 1
    run_suite gateway-retry "ws://127.0.0.1:$port/" "$retry" --jobs 1
    compare_runs direct-retry gateway-retry || failed=1
  else
    failed=1
  fi
fi
kill -0 "$wsgate_pid" 2>/dev/null || { echo "conformance: wsgate exited during the run" >&2; failed=1; }

echo "conformance: $( ((failed == 0)) && echo passed || echo FAILED ) in $(( $(date +%s) - start ))s"
exit "$failed"
