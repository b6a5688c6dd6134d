#!/usr/bin/env python3
"""Runs `kvw bench --json` several times per configuration and prints a
Markdown table of medians (the figures BENCHMARKS.md quotes).

    scripts/bench-table.py [--runs 5] [--kvw build-bench/tools/kvw] [--title T] \\
        "put --window 1 --ops 8000" "put --window 16 --ops 50000" ...

Each argument is one configuration: the arguments of `kvw bench` after
`bench`. Runs go round-robin over the configurations (run 1 of each, then
run 2 of each...), so a burst of load from elsewhere hits all of them
rather than one. Ratios are the median of the per-run ratios (kvw and its
baselines run in the same process, on the same server, in the same run),
with their range across runs, which shows how noisy the machine was.
--jsonl FILE keeps every run's JSON line.
"""
import argparse
import json
import statistics
import subprocess
import sys


def run_once(kvw, config):
    cmd = [kvw, "bench"] + config.split() + ["--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        sys.stderr.write("FAILED (%d): %s\n%s\n" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
        return None
    return json.loads(lines[-1])


def med(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def rng(rows, key, fmt):
    vals = [r[key] for r in rows if r.get(key) is not None]
    if not vals:
        return "-"
    return (fmt % statistics.median(vals)) + " (" + (fmt % min(vals)) + "-" + (fmt % max(vals)) + ")"


def fmt(v, f):
    return "-" if v is None else f % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--kvw", default="build-bench/tools/kvw")
    ap.add_argument("--title", default="")
    ap.add_argument("--jsonl", default=None)
    ap.add_argument("configs", nargs="+")
    a = ap.parse_args()

    results = {c: [] for c in a.configs}
    out = open(a.jsonl, "a") if a.jsonl else None
    for i in range(a.runs):
        for c in a.configs:
            r = run_once(a.kvw, c)
            if r is not None:
                r["config"] = c
                results[c].append(r)
                if out:
                    out.write(json.dumps(r) + "\n")
                    out.flush()
            sys.stderr.write("run %d/%d: %s: %s\n" % (i + 1, a.runs, c,
                             "failed" if r is None else "%.0f ops/s, ratio %s" %
                             (r["ops_per_sec"], r.get("ratio_vs_raw_async"))))

    if a.title:
        print("#### " + a.title + "\n")
    print("| configuration | runs | kvw ops/s | ceiling ops/s | kvw / ceiling | kvw / raw SendAsap "
          "| kvw / raw defaults | kvStore loop ops/s | kvw / kvStore loop | p50 / p99 / p99.9 us "
          "| kvStore p50 us | peak RSS MiB | kvw CPU us/op |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in a.configs:
        rows = results[c]
        if not rows:
            print("| `%s` | 0 | failed |||||||||||" % c)
            continue
        lat = "%s / %s / %s" % (fmt(med(rows, "p50_us"), "%.0f"), fmt(med(rows, "p99_us"), "%.0f"),
                                fmt(med(rows, "p999_us"), "%.0f"))
        peak = med(rows, "peak_rss_bytes")
        print("| `%s` | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c, len(rows), fmt(med(rows, "ops_per_sec"), "%.0f"), fmt(med(rows, "raw_async_ops_per_sec"), "%.0f"),
            rng(rows, "ratio_vs_raw_async", "%.2f"), fmt(med(rows, "ratio_vs_raw_async_send_asap"), "%.2f"),
            fmt(med(rows, "ratio_vs_raw_async_defaults"), "%.2f"), fmt(med(rows, "kvstore_ops_per_sec"), "%.0f"),
            rng(rows, "ratio_vs_kvstore_put", "%.1f"), lat, fmt(med(rows, "kvstore_p50_us"), "%.0f"),
            "-" if peak is None else "%.0f" % (peak / 2**20), fmt(med(rows, "cpu_us_per_op"), "%.1f")))
    bad = [(c, r) for c in a.configs for r in results[c]
           if r.get("timeouts") or r.get("errors") or r.get("conflicts") or r.get("slow_consumer_events")]
    for c, r in bad:
        print("\n`%s`: conflicts %s, timeouts %s, errors %s, slow-consumer events %s" % (
            c, r.get("conflicts"), r.get("timeouts"), r.get("errors"), r.get("slow_consumer_events")))


if __name__ == "__main__":
    main()
