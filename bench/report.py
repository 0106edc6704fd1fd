#!/usr/bin/env python3
"""Turns bench/run.sh's JSON lines into the results table (markdown) and the chart data (gnuplot).

Usage: report.py RUNS.jsonl OUT.md OUT.dat "placement note"
Per target and scenario: the median of the runs, the spread (min..max) of the headline rate, and the
ratio of each target's rate to wsgate's in the same scenario.
"""
import json
import statistics
import sys
from collections import OrderedDict

raw, out_md, out_dat, note = sys.argv[1:5]
cells = OrderedDict()
for line in open(raw):
    line = line.strip()
    if not line:
        continue
    j = json.loads(line)
    cells.setdefault((j["scenario"], j["target"]), []).append(j)


def med(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def headline(r):
    """The rate a scenario is about: echoes/s, handshakes/s for churn, WebSockets held for idle."""
    if r.get("kind") == "churn":
        return r.get("handshakes_per_s", 0)
    if r.get("kind") == "idle":
        return r.get("established", 0)
    return r.get("msgs_per_s", 0)


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


scenarios = list(OrderedDict.fromkeys(s for s, _ in cells))
targets = list(OrderedDict.fromkeys(t for _, t in cells))
lines = [f"# wsgate benchmark results", "", note, "",
         "Headline: echoes/s (echo scenarios), new WebSockets/s (churn), WebSockets held (idle). "
         "Median of the runs; spread is min..max of the headline. ratio = target / wsgate "
         "(higher is better for rates; for CPU and RSS lower is better). CPU is the proxy's "
         "utime+stime per million messages (churn: per million handshakes) over the measured window; "
         "RSS is the proxy's VmRSS during the run (idle: per WebSocket, over its RSS before the run).", ""]
for scenario in scenarios:
    lines += [f"## {scenario}", "",
              "| target | headline | spread | ratio vs wsgate | p50 µs | p99 µs | hs p50 µs | hs p99 µs | "
              "proxy CPU s/M | proxy RSS MiB | RSS/WebSocket KiB | errors | runs |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ref_runs = cells.get((scenario, "wsgate"))
    ref = statistics.median([headline(r) for r in ref_runs]) if ref_runs else None
    for target in targets:
        runs = cells.get((scenario, target))
        if not runs:
            continue
        heads = [headline(r) for r in runs]
        h = statistics.median(heads)
        ratio = f"{h / ref:.2f}" if ref else "–"
        rss = med(runs, "proxy_rss_kib")
        per_ws = None
        if runs[0].get("kind") == "idle" and rss and med(runs, "established"):
            per_ws = (rss - med(runs, "proxy_base_rss_kib")) / med(runs, "established")
        errors = sum(r.get("errors", 0) for r in runs)
        lines.append(
            f"| {target} | {fmt(h)} | {fmt(min(heads))}..{fmt(max(heads))} | {ratio} | "
            f"{fmt(med(runs, 'p50_us'), 1)} | {fmt(med(runs, 'p99_us'), 1)} | "
            f"{fmt(med(runs, 'handshake_p50_us'), 1)} | {fmt(med(runs, 'handshake_p99_us'), 1)} | "
            f"{fmt(med(runs, 'proxy_cpu_s_per_M'), 2) if target != 'direct' else '–'} | "
            f"{fmt(rss / 1024, 1) if rss and target != 'direct' else '–'} | {fmt(per_ws, 2)} | {errors} | {len(runs)} |")
    lines.append("")
open(out_md, "w").write("\n".join(lines))

# Chart data: one row per scenario, one column per target, the headline relative to wsgate.
with open(out_dat, "w") as dat:
    dat.write("scenario " + " ".join(targets) + "\n")
    for scenario in scenarios:
        ref_runs = cells.get((scenario, "wsgate"))
        ref = statistics.median([headline(r) for r in ref_runs]) if ref_runs else None
        row = [scenario]
        for target in targets:
            runs = cells.get((scenario, target))
            if runs and ref:
                row.append(f"{statistics.median([headline(r) for r in runs]) / ref:.3f}")
            else:
                row.append("NaN")
        dat.write(" ".join(row) + "\n")
print(open(out_md).read())
