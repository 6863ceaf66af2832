"""Print the table and the target verdicts of one bench/run.sh run.

Exit status: 0 when the run is valid and meets every target, 1 when it is invalid (any
non-2xx answer, socket error, failed or foreign ledger row, error in the gateway log), 2 when
it is valid but misses a target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The targets, on a 2-core machine that also runs the load generator and upstream.
MIN_RPS = 400.0
MAX_P99_MS = 250.0
MAX_ADDED_P50_MS = 3.0
MIN_CEILING_SHARE = 0.75
# More CPU than this used by processes outside the benchmark marks a run as disturbed.
FOREIGN_CORES = 0.1

LABELS = {
    "upstream": "upstream direct (GET /latest)",
    "bare": "bare async Django view (ceiling)",
    "gateway": "gateway (auth, route, fixer adapter, hold, ledger)",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--ledger-rows", type=int, required=True)
    parser.add_argument("--ledger-bad", type=int, required=True)
    parser.add_argument("--log-errors", type=int, required=True)
    parser.add_argument("--holds-left", type=int, default=0)
    parser.add_argument("--machine", default="")
    parser.add_argument("--code", default="")
    parser.add_argument("--calibration", default="")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    by = {(r["target"], r["connections"]): r for r in rows}
    many = max(r["connections"] for r in rows)

    print()
    if args.machine:
        print(f"Machine: {args.machine}")
    if args.code:
        print(f"Code: {args.code}")
    if args.calibration:
        print(f"CPU speed check: {args.calibration} ms for a fixed Python loop (lower is faster)")
    print()
    print(
        "| target | connections | requests/s | p50 ms | p99 ms | max ms | requests | errors "
        "| connections per worker | PostgreSQL connections |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        errors = r["non2xx"] + r["socket_errors"]
        print(
            f"| {LABELS.get(r['target'], r['target'])} | {r['connections']} | {r['rps']:.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['requests']} "
            f"| {errors} | {r.get('split') or '-'} "
            f"| {'-' if r.get('db_connections') is None else r['db_connections']} |"
        )
    print()

    cpu_rows = [r for r in rows if "cpu" in r and r["connections"] == many]
    if cpu_rows:
        groups = [
            "gateway",
            "bare proxy",
            "upstream",
            "postgres (bench db)",
            "postgres (server)",
            "redis",
            "wrk",
            "kernel, exited",
            "foreign",
        ]
        print(f"CPU milliseconds per request at {many} connections, by process (from /proc):")
        print()
        print("| target | " + " | ".join(groups) + " | machine busy (cores) |")
        print("|---|" + "--:|" * (len(groups) + 1))
        for r in cpu_rows:
            per = r["cpu"]["cpu_ms_per_request"]
            cells = " | ".join(f"{per.get(g, 0):.2f}" for g in groups)
            print(f"| {r['target']} | {cells} | {r['cpu']['cores_busy']:.2f} |")
        print()
    disturbed = [
        f"{r['target']} c={r['connections']} ({r['cpu']['cores'].get('foreign', 0):.2f} cores)"
        for r in rows
        if "cpu" in r and r["cpu"]["cores"].get("foreign", 0) > FOREIGN_CORES
    ]
    if disturbed:
        print("WARNING: other work ran on the machine during " + ", ".join(disturbed))
        print()

    problems = []
    for r in rows:
        if r["non2xx"] or r["socket_errors"]:
            problems.append(
                f"{r['target']} c={r['connections']}: {r['non2xx']} non-2xx, "
                f"{r['socket_errors']} socket errors"
            )
    gateway_requests = sum(r["requests"] for r in rows if r["target"] == "gateway")
    if args.ledger_bad:
        problems.append(f"{args.ledger_bad} ledger rows not succeeded through the bench provider")
    if args.ledger_rows < gateway_requests:
        problems.append(
            f"{args.ledger_rows} ledger rows for {gateway_requests} answered gateway calls"
        )
    if args.log_errors:
        problems.append(f"{args.log_errors} error lines in the gateway log")
    print(
        f"Ledger: {args.ledger_rows} rows ({args.ledger_bad} not succeeded through the bench "
        f"provider) for {gateway_requests} calls answered during measured runs"
    )

    if args.holds_left:
        print(
            f"Credit holds left unsettled: {args.holds_left} (calls still in flight when wrk "
            "closed its connections: Django cancels a view whose client went away)"
        )

    gateway, gateway_one = by.get(("gateway", many)), by.get(("gateway", 1))
    bare, upstream_one = by.get(("bare", many)), by.get(("upstream", 1))
    bare_one = by.get(("bare", 1))
    verdicts: list[tuple[str, str, bool]] = []
    if gateway:
        verdicts.append(
            (
                f">= {MIN_RPS:.0f} requests/s at {many} connections",
                f"{gateway['rps']:.0f}",
                gateway["rps"] >= MIN_RPS,
            )
        )
        verdicts.append(
            (
                f"p99 <= {MAX_P99_MS:.0f} ms at {many} connections",
                f"{gateway['p99_ms']:.1f} ms",
                gateway["p99_ms"] <= MAX_P99_MS,
            )
        )
    if gateway_one and upstream_one:
        added = gateway_one["p50_ms"] - upstream_one["p50_ms"]
        verdicts.append(
            (
                f"<= {MAX_ADDED_P50_MS:.0f} ms median added latency (1 connection)",
                f"{added:.2f} ms",
                added <= MAX_ADDED_P50_MS,
            )
        )
        if bare_one:
            print(
                f"Median added latency at 1 connection: bare view "
                f"{bare_one['p50_ms'] - upstream_one['p50_ms']:.2f} ms, gateway {added:.2f} ms"
            )
    if gateway and bare:
        share = gateway["rps"] / bare["rps"]
        verdicts.append(
            (
                f">= {MIN_CEILING_SHARE} of the bare-view ceiling",
                f"{share:.2f}",
                share >= MIN_CEILING_SHARE,
            )
        )
    print()
    print("| target | measured | met |")
    print("|---|--:|:-:|")
    for name, value, met in verdicts:
        print(f"| {name} | {value} | {'yes' if met else 'NO'} |")
    print()

    if problems:
        print("INVALID RUN:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        "Valid run: no errors; every call succeeded through the bench provider and has its "
        "ledger row."
    )
    return 0 if all(met for _, _, met in verdicts) else 2


if __name__ == "__main__":
    sys.exit(main())
