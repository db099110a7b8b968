#!/usr/bin/env python3
"""Prints hyperfine results as a table of times, ratios to a baseline and to a target.

    report.py RESULTS.json BASELINE_NAME [NAME=TARGET_MS ...]
"""

import json
import statistics
import sys


def main():
    results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
    baseline = statistics.median(results[sys.argv[2]]["times"]) * 1000
    targets = dict(arg.split("=") for arg in sys.argv[3:])
    print(f"{'command':<28} {'median':>9} {'p95':>9} {'x baseline':>11} {'target':>9}  verdict")
    for name, result in results.items():
        times = sorted(t * 1000 for t in result["times"])
        median = statistics.median(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        target = targets.get(name)
        verdict = ""
        if target:
            verdict = "within target" if median <= float(target) else "OVER TARGET"
        print(
            f"{name:<28} {median:>7.2f}ms {p95:>7.2f}ms {median / baseline:>10.2f}x "
            f"{(target + 'ms') if target else '':>9}  {verdict}"
        )


if __name__ == "__main__":
    main()
