#!/usr/bin/python3
"""Autobahn-style WebSocket server conformance runner (RFC 6455, cases 1.* to 13.*).

Our own implementation of the case descriptions and expected behaviours of the Autobahn
testsuite's fuzzing client (https://github.com/crossbario/autobahn-testsuite), which cannot be
installed here (Python 2, PyPI only). Each case opens one WebSocket to the server under test,
sends frames (valid or deliberately broken), records what comes back ("message", "ping",
"pong", "timeout" events plus the closing behaviour) and compares it with the expected
outcomes, giving Autobahn's verdicts: OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED.
Python 3 standard library only. See docs/conformance.md.
Files: wsclient.py (the client side), cases.py (1.*-7.*, 10.* and the verdict rules),
cases_limits.py (9.*, 12.*, 13.*), this runner.

Usage: autobahn.py --url ws://127.0.0.1:PORT/path [--cases 1.*,2.1] [--exclude 9.*]
                   [--report out.json] [--timeout S] [--jobs N] [--deflate-messages N]
       autobahn.py --list [--cases ...]
       autobahn.py --compare direct.json gateway.json [--known known-differences.txt]
Exit status: 0 when no case FAILED, 1 otherwise, 2 on bad arguments or no connection at all.
"""

import argparse
import collections
import fnmatch
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from cases import CASES, FAILED, INFORMATIONAL, OK, UNIMPLEMENTED, VERDICTS
from cases_limits import DeflateCase, SelfJudgingCase  # importing it also registers 9.*, 12.*, 13.*
from wsclient import Connection, HandshakeError, short


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def case_key(case_id):
    return tuple(int(x) for x in case_id.split("."))


def select_cases(patterns):
    chosen = []
    for pattern in patterns.split(","):
        pattern = pattern.strip()
        if not pattern:
            continue
        matched = [c for c in CASES if fnmatch.fnmatchcase(c, pattern)]
        if not matched:
            raise SystemExit("no case matches %r" % pattern)
        chosen += [c for c in matched if c not in chosen]
    return sorted(chosen, key=case_key)


def run_case(case_id, url, timeout_s, deflate_messages=None):
    cls = CASES[case_id]
    c = cls()
    if deflate_messages and isinstance(c, DeflateCase):
        c.count = deflate_messages
    conn = Connection(url, c.offer_deflate)
    c.p = conn
    conn.case = c
    started = time.monotonic()
    limit = c.time_limit_s or timeout_s
    try:
        conn.open(min(limit, 10))
    except (OSError, HandshakeError) as e:
        return {"id": case_id, "description": c.description, "verdict": FAILED, "behavior": FAILED,
                "behavior_close": FAILED, "result": "opening handshake failed: %s" % e, "result_close": "",
                "duration_ms": int((time.monotonic() - started) * 1000), "handshake_failed": True}
    c.on_open()
    conn.run(started + limit)
    c.on_connection_lost()
    return {
        "id": case_id,
        "description": c.description,
        "verdict": c.verdict(),
        "behavior": c.behavior,
        "behavior_close": c.behavior_close,
        "result": c.result,
        "result_close": c.result_close,
        "expected": {k: short(v) for k, v in c.expected.items()} if not isinstance(c, SelfJudgingCase) else {},
        "received": short(c.received)[:20],
        "expected_close": c.expected_close,
        "closed_by_me": conn.closed_by_me,
        "failed_by_me": conn.failed_by_me,
        "dropped_by_me": conn.dropped_by_me,
        "was_clean": conn.was_clean,
        "not_clean_reason": conn.not_clean_reason,
        "remote_close_code": conn.remote_close_code,
        "remote_close_reason": short(conn.remote_close_reason) if conn.remote_close_reason is not None else None,
        "extensions": conn.extensions,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }


def print_line(r, out=sys.stdout):
    close = r.get("remote_close_code")
    detail = r["result"] if r["verdict"] != OK else ""
    if r["verdict"] not in (OK, UNIMPLEMENTED) and r.get("behavior_close") not in (OK, INFORMATIONAL, None):
        detail += " | close: %s: %s" % (r["behavior_close"], r["result_close"])
    out.write("%-8s %-13s close=%-5s %6d ms  %s\n" % (r["id"], r["verdict"], close if close is not None else "-",
                                                  r["duration_ms"], detail))
    out.flush()


def run_all(url, case_ids, timeout_s, jobs, deflate_messages=None):
    results = {}
    lock = threading.Lock()

    def one(cid):
        try:
            r = run_case(cid, url, timeout_s, deflate_messages)
        except Exception as e:  # a bug in a case must not stop the others
            r = {"id": cid, "description": CASES[cid].description, "verdict": FAILED, "behavior": FAILED,
                 "behavior_close": FAILED, "result": "runner error: %r" % e, "result_close": "", "duration_ms": 0}
        with lock:
            results[cid] = r
        return r

    # Performance cases (9.*) run after the rest, two at a time, so timings stay meaningful and
    # the timing-sensitive cases (6.4.*, 5.19) are not starved.
    quick = [c for c in case_ids if not c.startswith("9.")]
    heavy = [c for c in case_ids if c.startswith("9.")]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, quick))
    with ThreadPoolExecutor(max_workers=min(2, jobs)) as pool:
        list(pool.map(one, heavy))
    ordered = [results[c] for c in case_ids]
    for r in ordered:
        print_line(r)
    return ordered


def summarize(results):
    counts = collections.OrderedDict((v, 0) for v in VERDICTS)
    for r in results:
        counts[r["verdict"]] += 1
    return counts


def load_known_differences(path):
    """{case id: (allowed gateway verdict, reason)} from a known-differences file."""
    known = {}
    if path:
        for line in open(path):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cid, verdict, reason = (line.split(None, 2) + [""])[:3]
            known[cid] = (verdict, reason)
    return known


def compare(direct_path, gateway_path, known_path=None, differences_path=None):
    """No case may be FAILED, and a case must have the same verdict through the gateway as directly,
    or the alternative listed for it in the known-differences file. Returns 1 otherwise, and writes
    the offending case ids (comma-separated) to `differences_path` if given."""
    direct = {r["id"]: r for r in json.load(open(direct_path))["cases"]}
    gateway = {r["id"]: r for r in json.load(open(gateway_path))["cases"]}
    known = load_known_differences(known_path)
    bad = seen_known = 0
    offending = []
    for cid in sorted(direct, key=case_key):
        d = direct[cid]["verdict"]
        g = gateway.get(cid, {}).get("verdict", "MISSING")
        if d == g and d != FAILED:
            continue
        if g != FAILED and cid in known and known[cid][0] == g:
            seen_known += 1
            print("KNOWN %-8s direct=%-13s gateway=%-13s %s" % (cid, d, g, known[cid][1]))
            continue
        bad += 1
        offending.append(cid)
        detail = gateway.get(cid, {}).get("result", "") if g != OK else direct[cid].get("result", "")
        print("DIFF  %-8s direct=%-13s gateway=%-13s %s" % (cid, d, g, detail))
    print("compare: %d cases, %d known differences, %d failed or unexpected differences" % (
        len(direct), seen_known, bad))
    if differences_path:
        with open(differences_path, "w") as f:
            f.write(",".join(offending))
    return 1 if bad else 0


def main(argv):
    ap = argparse.ArgumentParser(description="Autobahn-style WebSocket server conformance cases.")
    ap.add_argument("--url", help="ws://HOST:PORT/path of the server under test")
    ap.add_argument("--cases", default="*", help="comma-separated case ids or patterns (1.*,2.1,6.4.*)")
    ap.add_argument("--exclude", default="", help="comma-separated case patterns to skip")
    ap.add_argument("--report", help="write a JSON report here")
    ap.add_argument("--timeout", type=float, default=10.0, help="time limit per case in seconds (9.* have their own)")
    ap.add_argument("--jobs", type=int, default=8, help="cases run at once")
    ap.add_argument("--deflate-messages", type=int, metavar="N",
                    help="messages per 12.*/13.* case (default 1000, as Autobahn; fewer for a quick run)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--compare", nargs=2, metavar=("DIRECT_JSON", "GATEWAY_JSON"),
                    help="compare two reports: exit 1 if a verdict differs (beyond --known)")
    ap.add_argument("--known", help="known-differences file for --compare")
    ap.add_argument("--differences", help="--compare writes the offending case ids here")
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*args.compare, known_path=args.known, differences_path=args.differences)
    case_ids = select_cases(args.cases)
    if args.exclude:
        skip = set(select_cases(args.exclude))
        case_ids = [c for c in case_ids if c not in skip]
    if args.list:
        for cid in case_ids:
            print("%-8s %s" % (cid, CASES[cid].description))
        return 0
    if not args.url:
        ap.error("--url is required")
    started = time.time()
    results = run_all(args.url, case_ids, args.timeout, max(1, args.jobs), args.deflate_messages)
    elapsed = time.time() - started
    counts = summarize(results)
    summary = " ".join("%s=%d" % (k, v) for k, v in counts.items())
    print("autobahn: %d cases in %.1f s against %s: %s" % (len(results), elapsed, args.url, summary))
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"url": args.url, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                       "duration_s": round(elapsed, 1), "summary": counts, "cases": results}, f, indent=1)
    if all(r.get("handshake_failed") for r in results):
        return 2
    return 1 if counts[FAILED] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
