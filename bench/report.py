"""Print the tables and the five target verdicts (issue #17) of one bench/run.sh run.

Each target is measured in several rounds, taking turns; a verdict takes the median over the
rounds, and every ratio or difference between two targets is taken within one round first
(this VM's speed drifts within minutes).

Exit status: 0 when the run is valid and meets every target it measured, 1 when it is
invalid (any non-2xx answer, socket error, failed or foreign ledger row, error in the
gateway log), 2 when it is valid but misses a target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from bench.targets import Run, targets

# More CPU than this used by processes outside the benchmark marks a run as disturbed.
FOREIGN_CORES = 0.1

LABELS = {
    "upstream": "upstream direct (GET /latest)",
    "bare": "bare async Django view (ceiling)",
    "litellm": "LiteLLM proxy (key, router, openai deployment, cost)",
    "gateway": "gateway (auth, route, fixer adapter, hold, ledger)",
    "slow": "gateway through the slow upstream",
}
CPU_GROUPS = [
    "gateway",
    "bare proxy",
    "litellm",
    "upstream",
    "postgres (bench db)",
    "postgres (server)",
    "redis",
    "wrk",
    "kernel, exited",
    "foreign",
]


def print_results(run: Run) -> None:
    print(
        "| target | round | connections | requests/s | p50 ms | p99 ms | max ms | requests "
        "| errors | connections per worker | PostgreSQL connections |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in run.rows:
        errors = r["non2xx"] + r["socket_errors"]
        print(
            f"| {LABELS.get(r['target'], r['target'])} | {r.get('round', 1)} "
            f"| {r['connections']} | {r['rps']:.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['requests']} "
            f"| {errors} | {r.get('split') or '-'} "
            f"| {'-' if r.get('db_connections') is None else r['db_connections']} |"
        )
    print()


def print_cpu(run: Run) -> None:
    rows = [r for r in run.rows if "cpu" in r and r["connections"] != 1]
    if not rows:
        return
    used = {g for r in rows for g in r["cpu"]["cpu_ms_per_request"]}
    groups = [g for g in CPU_GROUPS if g in used or g not in ("litellm", "bare proxy")]
    print("CPU milliseconds per request, by process (from /proc):")
    print()
    print("| target | round | connections | " + " | ".join(groups) + " | machine busy (cores) |")
    print("|---|--:|--:|" + "--:|" * (len(groups) + 1))
    for r in rows:
        per = r["cpu"]["cpu_ms_per_request"]
        cells = " | ".join(f"{per.get(g, 0):.2f}" for g in groups)
        print(
            f"| {r['target']} | {r.get('round', 1)} | {r['connections']} | {cells} "
            f"| {r['cpu']['cores_busy']:.2f} |"
        )
    print()
    disturbed = [
        f"{r['target']} c={r['connections']} ({r['cpu']['cores'].get('foreign', 0):.2f} cores)"
        for r in run.rows
        if "cpu" in r and r["cpu"]["cores"].get("foreign", 0) > FOREIGN_CORES
    ]
    if disturbed:
        print("WARNING: other work ran on the machine during " + ", ".join(disturbed))
        print()


def validity(run: Run, args: argparse.Namespace) -> list[str]:
    """What makes the run invalid; prints the ledger's count."""
    problems = [
        f"{r['target']} c={r['connections']} round {r.get('round', 1)}: {r['non2xx']} non-2xx, "
        f"{r['socket_errors']} socket errors"
        for r in run.rows
        if r["non2xx"] or r["socket_errors"]
    ]
    problems += [
        f"{r['target']} c={r['connections']} round {r.get('round', 1)}: "
        f"{r['errors_discarded']} errors in its repeated (disturbed) attempts"
        for r in run.rows
        if r.get("errors_discarded")
    ]
    answered = sum(r["requests"] for r in run.rows if r["target"] in ("gateway", "slow"))
    if args.ledger_bad:
        problems.append(f"{args.ledger_bad} ledger rows not succeeded through the bench provider")
    if args.ledger_rows < answered:
        problems.append(f"{args.ledger_rows} ledger rows for {answered} answered gateway calls")
    if args.log_errors:
        problems.append(f"{args.log_errors} error lines in the gateway log")
    if args.books_off:
        problems.append(f"{args.books_off} clients whose balance or held disagrees with the books")
    print(
        "Books: "
        + ("balance = sum of ledger rows and held = sum of open holds for every client"
           if not args.books_off else f"{args.books_off} clients disagree")
    )  # fmt: skip
    print(
        f"Ledger: {args.ledger_rows} rows ({args.ledger_bad} not succeeded through the bench "
        f"provider) for {answered} gateway calls answered during measured runs"
    )
    short = [
        f"{r['target']} c={r['connections']} round {r.get('round', 1)} ({r['split']})"
        for r in run.rows
        if r.get("split") and len(r["split"].split("/")) < args.workers
    ]
    if short:
        print(
            f"WARNING: fewer than {args.workers} server processes held connections during "
            + ", ".join(short)
        )
    if args.holds_left:
        print(
            f"Credit holds left unsettled: {args.holds_left} (calls still in flight when wrk "
            "closed its connections: Django cancels a view whose client went away)"
        )
    return problems


def print_figures(run: Run) -> None:
    """The medians the targets compare, for the note."""
    parts = []
    for target in ("bare", "litellm", "gateway"):
        rps, one = run.per_round(run.rps(target)), run.per_round(run.added(target))
        ones = [r["rps"] for r in run.rows if r["target"] == target and r["connections"] == 1]
        if rps and one:
            parts.append(
                f"{target} {statistics.median(rps):.0f} calls/s at {run.many}, "
                f"{statistics.median(ones):.0f} at 1, {statistics.median(one):.2f} ms added"
            )
    if parts:
        print("Medians over rounds: " + "; ".join(parts))
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--ledger-rows", type=int, required=True)
    parser.add_argument("--ledger-bad", type=int, required=True)
    parser.add_argument("--log-errors", type=int, required=True)
    parser.add_argument("--holds-left", type=int, default=0)
    parser.add_argument("--books-off", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slow-connections", type=int, default=256)
    parser.add_argument("--slow-delay-ms", type=float, default=200.0)
    parser.add_argument("--machine", default="")
    parser.add_argument("--code", default="")
    parser.add_argument("--calibration", default="")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    fast = [r["connections"] for r in rows if r["target"] != "slow"]
    run = Run(rows, max(fast, default=1))
    print()
    for label, value in (("Machine", args.machine), ("Code", args.code)):
        if value:
            print(f"{label}: {value}")
    if args.calibration:
        print(f"CPU speed check: {args.calibration} ms for a fixed Python loop (lower is faster)")
    print()
    print_results(run)
    print_cpu(run)
    problems = validity(run, args)
    print()
    print_figures(run)
    verdicts = targets(run, args.slow_connections, args.slow_delay_ms)
    print("| target (issue #17) | measured (median) | threshold | verdict |")
    print("|---|--:|--:|:-:|")
    for name, value, limit, met in verdicts:
        print(f"| {name} | {value} | {limit} | {met} |")
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
    return 2 if any(met == "MISS" for *_, met in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
