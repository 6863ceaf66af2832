"""Print the table and the target verdicts of one bench/run.sh run.

Each target is measured in several rounds, taking turns; a verdict takes the median of the
rounds, and the ratio to the ceiling and the added latency compare runs of the same round.

Exit status: 0 when the run is valid and meets every target, 1 when it is invalid (any
non-2xx answer, socket error, failed or foreign ledger row, error in the gateway log), 2 when
it is valid but misses a target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
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
    for r in rows:
        r.setdefault("round", 1)
    by = {(r["target"], r["connections"], r["round"]): r for r in rows}
    many = max(r["connections"] for r in rows)
    rounds = sorted({r["round"] for r in rows})

    print()
    if args.machine:
        print(f"Machine: {args.machine}")
    if args.code:
        print(f"Code: {args.code}")
    if args.calibration:
        print(f"CPU speed check: {args.calibration} ms for a fixed Python loop (lower is faster)")
    print()
    print(
        "| target | round | connections | requests/s | p50 ms | p99 ms | max ms | requests "
        "| errors | connections per worker | PostgreSQL connections |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        errors = r["non2xx"] + r["socket_errors"]
        print(
            f"| {LABELS.get(r['target'], r['target'])} | {r['round']} | {r['connections']} "
            f"| {r['rps']:.0f} "
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
        print("| target | round | " + " | ".join(groups) + " | machine busy (cores) |")
        print("|---|--:|" + "--:|" * (len(groups) + 1))
        for r in cpu_rows:
            per = r["cpu"]["cpu_ms_per_request"]
            cells = " | ".join(f"{per.get(g, 0):.2f}" for g in groups)
            print(f"| {r['target']} | {r['round']} | {cells} | {r['cpu']['cores_busy']:.2f} |")
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

    def per_round(value: Callable[[int], float | None]) -> list[float]:
        return [v for v in (value(n) for n in rounds) if v is not None]

    def rps(target: str, n: int) -> float | None:
        r = by.get((target, many, n))
        return r["rps"] if r else None

    def p99(n: int) -> float | None:
        r = by.get(("gateway", many, n))
        return r["p99_ms"] if r else None

    def added(target: str) -> Callable[[int], float | None]:
        def of_round(n: int) -> float | None:
            one, upstream = by.get((target, 1, n)), by.get(("upstream", 1, n))
            return one["p50_ms"] - upstream["p50_ms"] if one and upstream else None

        return of_round

    def share(n: int) -> float | None:
        gateway, bare = rps("gateway", n), rps("bare", n)
        return gateway / bare if gateway and bare else None

    verdicts: list[tuple[str, str, bool]] = []
    checks: list[tuple[str, list[float], str, Callable[[float], bool]]] = [
        (
            f">= {MIN_RPS:.0f} requests/s at {many} connections",
            per_round(lambda n: rps("gateway", n)),
            "{:.0f}",
            lambda v: v >= MIN_RPS,
        ),
        (
            f"p99 <= {MAX_P99_MS:.0f} ms at {many} connections",
            per_round(p99),
            "{:.1f} ms",
            lambda v: v <= MAX_P99_MS,
        ),
        (
            f"<= {MAX_ADDED_P50_MS:.0f} ms median added latency (1 connection)",
            per_round(added("gateway")),
            "{:.2f} ms",
            lambda v: v <= MAX_ADDED_P50_MS,
        ),
        (
            f">= {MIN_CEILING_SHARE} of the bare-view ceiling (same round)",
            per_round(share),
            "{:.2f}",
            lambda v: v >= MIN_CEILING_SHARE,
        ),
    ]
    for name, values, form, passes in checks:
        if not values:
            continue
        middle = statistics.median(values)
        shown = form.format(middle)
        if len(values) > 1:
            shown += " (rounds: " + ", ".join(form.format(v) for v in values) + ")"
        verdicts.append((name, shown, passes(middle)))
    bare_added = per_round(added("bare"))
    gateway_added = per_round(added("gateway"))
    if bare_added and gateway_added:
        bare_ms, gateway_ms = statistics.median(bare_added), statistics.median(gateway_added)
        print(
            f"Median added latency at 1 connection (median of the rounds): bare view "
            f"{bare_ms:.2f} ms, gateway {gateway_ms:.2f} ms"
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
