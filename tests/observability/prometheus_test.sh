#!/usr/bin/env bash
# Real-Prometheus test: a real prometheus (Debian package) scrapes wsgate's admin listener with the
# repo's scrape config (deploy/prometheus/prometheus.yml, target swapped for the real admin port,
# scrape interval 1s) and evaluates the repo's alerts.yml; promtool checks both and runs
# alerts_test.yml. Three WebSockets are held open by a Python client; the query API must show
# sum(wsgate_websocket_streams_active) == 3 and up == 1, then 0 open WebSockets once they are gone.
# Builds nothing. Never touches the system prometheus service: the binary runs here, on a free
# loopback port, with its storage in a temp dir.
# Usage: tests/observability/prometheus_test.sh [WSGATE_BIN [WSGATE_ECHO_BIN]]
#        (or env WSGATE_BIN / WSGATE_ECHO_BIN; default build/gateway/wsgate and build/tools/wsgate-echo)
# Env: PROMETHEUS (default /usr/bin/prometheus), PROMTOOL (default /usr/bin/promtool).
# Exit 0 when every check passed, else 1. Last line: "prometheus: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wsgate=${1:-${WSGATE_BIN:-$repo/build/gateway/wsgate}}
echo_bin=${2:-${WSGATE_ECHO_BIN:-$repo/build/tools/wsgate-echo}}
prometheus=${PROMETHEUS:-/usr/bin/prometheus}
promtool=${PROMTOOL:-/usr/bin/promtool}
python=/usr/bin/python3
kTotalSeconds=90    # the whole script, watchdog-enforced
kStartSeconds=10    # each process: its listening line / readiness within this
kQuerySeconds=30    # a query result must show up within this

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "prometheus: $passed passed, $failed failed"
  [[ $failed -eq 0 && $passed -gt 0 ]] && exit 0
  exit 1
}
setup_failed() {
  echo "prometheus: $*" >&2
  fail "setup: $*"
  finish
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-prom.XXXXXX")
pids=()
source "$repo/tests/lib/processes.sh"
cleanup() {
  stop_pids
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "prometheus: interrupted or out of time (${kTotalSeconds}s)" >&2; fail "finished in time"; finish' INT TERM

# Watchdog: the whole run is bounded.
start_watchdog "$kTotalSeconds"

# ---- prerequisites ----
for bin in "$wsgate" "$echo_bin"; do
  [[ -x "$bin" ]] || setup_failed "not an executable: $bin (build it, or pass WSGATE_BIN / WSGATE_ECHO_BIN)"
done
if [[ ! -x "$prometheus" || ! -x "$promtool" ]]; then
  echo "prometheus: installing the Debian prometheus package"
  # Debian starts the service on install; this test never uses it (its own binary, its own port).
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends prometheus >"$tmp/apt.log" 2>&1 ||
    { tail -n 20 "$tmp/apt.log" >&2; setup_failed "apt-get install prometheus failed"; }
fi
[[ -x "$prometheus" && -x "$promtool" ]] || setup_failed "no $prometheus / $promtool"
command -v curl >/dev/null || setup_failed "curl not found"
"$python" -c 'import websockets' 2>/dev/null || setup_failed "python3 websockets missing (apt-get install -y python3-websockets)"


free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---- wsgate-echo + wsgate ----
start_echo "$echo_bin" "$tmp" || setup_failed "wsgate-echo did not start"

cat >"$tmp/wsgate.yaml" <<YAML
workers: 2
drain_timeout: 2s
listeners:
  - name: public
    address: 127.0.0.1:0
    protocols: [http/1.1]
admin:
  address: 127.0.0.1:0
access_log:
  path: "off"
routes:
  - name: echo
    match: {path_prefix: /echo}
    backend: echo
  - name: other
    match: {path_prefix: /other}
    backend: echo
backends:
  - name: echo
    endpoints: [127.0.0.1:$echo_port]
YAML
"$wsgate" --config "$tmp/wsgate.yaml" >"$tmp/wsgate.out" 2>"$tmp/wsgate.err" &
wsgate_pid=$!
pids+=("$wsgate_pid")
port=$(wait_for_line "$tmp/wsgate.err" 'wsgate: listener public listening on 127\.0\.0\.1:([0-9]+)' "$wsgate_pid") ||
  { cat "$tmp/wsgate.err" >&2; setup_failed "wsgate did not start"; }
admin_port=$(wait_for_line "$tmp/wsgate.err" 'wsgate: admin listening on 127\.0\.0\.1:([0-9]+)' "$wsgate_pid") ||
  { cat "$tmp/wsgate.err" >&2; setup_failed "wsgate did not announce its admin listener"; }
echo "prometheus: wsgate on 127.0.0.1:$port, admin 127.0.0.1:$admin_port, echo 127.0.0.1:$echo_port"

# ---- the Prometheus config, generated from the repo's ----
# Same file with: the target replaced by the real admin address, 1s intervals (timeout below the
# interval, as Prometheus requires), and rule_files pointing at the repo's alerts.yml.
"$python" - "$repo/deploy/prometheus/prometheus.yml" "$tmp/prometheus.yml" "127.0.0.1:$admin_port" \
  "$repo/deploy/prometheus/alerts.yml" <<'PY' || setup_failed "could not generate the Prometheus config from deploy/prometheus/prometheus.yml"
import re, sys
src, dst, target, alerts = sys.argv[1:5]
text = open(src).read()
subs = [
    (r'(targets:\s*\[)"127\.0\.0\.1:9901"(\])', r'\g<1>"%s"\g<2>' % target),
    (r'(\n  scrape_interval:) \S+', r'\1 1s'),
    (r'(\n  evaluation_interval:) \S+', r'\1 1s'),
    (r'(\n    scrape_interval:) \S+', r'\1 1s'),
    (r'(\n    scrape_timeout:) \S+', r'\1 900ms'),
    (r'(rule_files:\s*\n\s*- )alerts\.yml', r'\g<1>"%s"' % alerts),
]
for pattern, repl in subs:
    text, n = re.subn(pattern, repl, text)
    if n != 1:
        sys.exit("pattern %r matched %d times" % (pattern, n))
open(dst, "w").write(text)
PY

# ---- promtool ----
if "$promtool" check config "$tmp/prometheus.yml" >"$tmp/check-config.log" 2>&1; then
  pass "promtool check config (generated from deploy/prometheus/prometheus.yml)"
else
  fail "promtool check config"; cat "$tmp/check-config.log"
fi
if "$promtool" check config "$repo/deploy/prometheus/prometheus.yml" >"$tmp/check-config-repo.log" 2>&1; then
  pass "promtool check config deploy/prometheus/prometheus.yml (as shipped)"
else
  fail "promtool check config deploy/prometheus/prometheus.yml"; cat "$tmp/check-config-repo.log"
fi
if "$promtool" check rules "$repo/deploy/prometheus/alerts.yml" >"$tmp/check-rules.log" 2>&1; then
  pass "promtool check rules deploy/prometheus/alerts.yml ($(grep -Eo '[0-9]+ rules found' "$tmp/check-rules.log"))"
else
  fail "promtool check rules"; cat "$tmp/check-rules.log"
fi
if [[ -f "$repo/deploy/prometheus/alerts_test.yml" ]]; then
  if (cd "$repo/deploy/prometheus" && timeout 60 "$promtool" test rules alerts_test.yml) >"$tmp/test-rules.log" 2>&1; then
    pass "promtool test rules deploy/prometheus/alerts_test.yml"
  else
    fail "promtool test rules"; cat "$tmp/test-rules.log"
  fi
fi

# ---- prometheus ----
prom_port=$(free_port) || setup_failed "no free port"
prom="http://127.0.0.1:$prom_port"
"$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn \
  >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
ready=0
for _ in $(seq $((kStartSeconds * 2 * 10))); do
  if curl -fsS --max-time 2 "$prom/-/ready" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$prom_pid" 2>/dev/null || break
  sleep 0.1
done
[[ $ready -eq 1 ]] || { tail -n 30 "$tmp/prometheus.log" >&2; setup_failed "prometheus did not get ready on $prom"; }
pass "prometheus ready on $prom"

# query EXPR: prints the scalar value of a one-sample vector result ("" when empty or on error).
query() {
  curl -fsS --max-time 3 -G "$prom/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    "$python" -c '
import json, sys
try:
    d = json.load(sys.stdin)
    r = d["data"]["result"] if d.get("status") == "success" else []
    print(r[0]["value"][1] if len(r) == 1 else "")
except Exception:
    print("")'
}
# wait_query EXPR WANT: polls until the query gives WANT (bounded); prints the last value.
wait_query() {
  local expr=$1 want=$2 got="" deadline=$((SECONDS + kQuerySeconds))
  while ((SECONDS < deadline)); do
    got=$(query "$expr")
    [[ "$got" == "$want" ]] && break
    sleep 0.5
  done
  echo "$got"
}

# ---- three WebSockets, held open ----
cat >"$tmp/hold.py" <<'PY'
# Opens N WebSockets on URL, checks one echo on each, prints "open N", then holds them until killed.
import asyncio, sys
import websockets

async def main(url, n):
    conns = [await websockets.connect(url, open_timeout=5) for _ in range(n)]
    for i, ws in enumerate(conns):
        await ws.send("hello %d" % i)
        reply = await asyncio.wait_for(ws.recv(), 5)
        assert reply == "hello %d" % i, reply
    print("open %d" % n, flush=True)
    await asyncio.sleep(120)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
PY
"$python" "$tmp/hold.py" "ws://127.0.0.1:$port/echo" 3 >"$tmp/hold.log" 2>&1 &
hold_pid=$!
pids+=("$hold_pid")
if wait_for_line "$tmp/hold.log" '(open 3)' "$hold_pid" >/dev/null; then
  pass "3 WebSockets open through wsgate (python3 websockets)"
else
  fail "3 WebSockets open"; cat "$tmp/hold.log"
fi

got=$(wait_query 'sum(wsgate_websocket_streams_active)' 3)
[[ "$got" == 3 ]] && pass "sum(wsgate_websocket_streams_active) == 3" ||
  fail "sum(wsgate_websocket_streams_active) == 3 (got '${got}')"
got=$(query 'wsgate_websocket_streams_active{job="wsgate",service="wsgate",route="echo",protocol="h1"}')
[[ "$got" == 3 ]] && pass 'wsgate_websocket_streams_active{route="echo",protocol="h1"} == 3 (job and service labels from the config)' ||
  fail "wsgate_websocket_streams_active{route=echo,protocol=h1} == 3 (got '${got}')"
got=$(query 'sum(wsgate_websocket_streams_active{route="other"})')
[[ "$got" == 0 ]] && pass 'route "other" present at 0' || fail "route other at 0 (got '${got}')"
got=$(query 'up{job="wsgate"}')
[[ "$got" == 1 ]] && pass 'up{job="wsgate"} == 1' || fail "up{job=\"wsgate\"} == 1 (got '${got}')"
got=$(query "sum(wsgate_websocket_handshakes_total{route=\"echo\",code=\"101\"})")
[[ "$got" == 3 ]] && pass 'handshakes_total{route="echo",code="101"} == 3' || fail "handshakes 101 == 3 (got '${got}')"
got=$(query 'sum(wsgate_websocket_messages_total{route="echo",direction="backend_to_client"})')
[[ "$got" == 3 ]] && pass 'messages_total{direction="backend_to_client"} == 3' || fail "messages b2c == 3 (got '${got}')"
got=$(query 'wsgate_ready')
[[ "$got" == 1 ]] && pass "wsgate_ready == 1" || fail "wsgate_ready == 1 (got '${got}')"

# The scrape itself: healthy, no sample errors.
targets=$(curl -fsS --max-time 3 "$prom/api/v1/targets" 2>/dev/null)
health=$(printf '%s' "$targets" | "$python" -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(" ".join("%s:%s:%s" % (x["labels"].get("job"), x["health"], x.get("lastError") or "-") for x in t))' 2>/dev/null)
[[ "$health" == "wsgate:up:-" ]] && pass "one target, healthy, no scrape error" || fail "target health: '$health'"

# The alert rules from alerts.yml are loaded and evaluate against real series without errors.
# Polled: a rule's health is "unknown" until its first evaluation (evaluation_interval 1s).
rules_state() {
  curl -fsS --max-time 3 "$prom/api/v1/rules" 2>/dev/null | "$python" -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] + ": " + r.get("lastError", "") for r in rules if r.get("health") != "ok"]
firing = [r["name"] for r in rules if r.get("state") == "firing"]
print(len(rules), len(bad), len(firing), "; ".join(bad + firing))' 2>/dev/null
}
want_rules=$(grep -c '^\s*- alert:' "$repo/deploy/prometheus/alerts.yml")
deadline=$((SECONDS + 10))
while :; do
  rules=$(rules_state)
  [[ "$rules" == "$want_rules 0 "* || $SECONDS -ge $deadline ]] && break
  sleep 0.5
done
read -r n_rules n_bad n_firing detail <<<"$rules"
[[ "${n_rules:-0}" == "$want_rules" && "${n_bad:-1}" == 0 ]] &&
  pass "$want_rules alert rules loaded and evaluated without error" ||
  fail "alert rules: '$rules' (want $want_rules rules, all health ok)"
[[ "${n_firing:-1}" == 0 ]] && pass "no alert firing on a healthy gateway" || fail "alerts firing: $detail"

# ---- the WebSockets go away: the gauge follows ----
kill -TERM "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
got=$(wait_query 'sum(wsgate_websocket_streams_active)' 0)
[[ "$got" == 0 ]] && pass "sum(wsgate_websocket_streams_active) back to 0 after the clients left" ||
  fail "sum(wsgate_websocket_streams_active) back to 0 (got '${got}')"

kill -0 "$wsgate_pid" 2>/dev/null && pass "wsgate still running" || { fail "wsgate still running"; tail -n 20 "$tmp/wsgate.err"; }
if [[ $failed -ne 0 ]]; then
  echo "--- wsgate stderr (last 20 lines) ---"; tail -n 20 "$tmp/wsgate.err"
  echo "--- prometheus log (last 20 lines) ---"; tail -n 20 "$tmp/prometheus.log"
fi
finish
