"""Load with faults, and a soak: run by bench/faults.sh (see there for the knobs).

    python -m bench.faults faults   # steady load; Redis restarted, then PostgreSQL
    python -m bench.faults soak     # steady load for SOAK_S s; every worker's RSS sampled

Both start their own PostgreSQL cluster and Redis on free ports (tests/faults/services.py:
initdb/pg_ctl as the postgres user, redis-server --port), so the machine's shared services
are never stopped; the local fixer-format upstream (bench/upstream.py); and the gateway
with the Procfile's command (gunicorn + uvicorn workers, DEBUG off). Then they match every
answer with the ledger (bench/fault_ledger.py), run `manage.py ledger_check`, print Markdown
tables, and stop everything they started, whatever happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any

from bench.fault_ledger import check_ledger, verdict_table
from bench.fault_load import CALL_PATH, PAYLOAD, Load, status_table
from bench.fault_procs import cpu_snapshot, foreign_cores, loadavg, rss_kb
from bench.fault_stack import ROOT, Stack


def knob(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def settled(stack: Stack, wait_s: float = 90) -> int:
    """Wait until no credit hold is open (pending settles written); the holds left."""
    deadline = time.monotonic() + wait_s
    while (left := stack.holds_left()) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def dump(stack: Stack, load: Load) -> None:
    """Every answer, one JSON line each: request id, phase, status, kind, latency."""
    with (stack.log_dir / "answers.jsonl").open("w") as out:
        for answer in load.answers:
            out.write(json.dumps(dataclasses.asdict(answer)) + "\n")


def ledger_section(stack: Stack, load: Load, holds_left: int) -> tuple[str, bool]:
    assert stack.postgres is not None
    checks = check_ledger(stack.postgres.query, load.answers)
    result = subprocess.run(
        [sys.executable, "manage.py", "ledger_check", "--hold-age", "0"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=False,
    )
    ok = result.returncode == 0
    text = verdict_table(checks, (ok, result.stdout + result.stderr))
    text += (
        "\n\nCredit holds still open once the load stopped (after waiting up to 90 s for "
        f"pending settles): {holds_left}."
    )
    return text, ok and not any(check.failures for check in checks)


async def run_faults(stack: Stack) -> tuple[str, bool]:
    assert stack.postgres is not None and stack.redis is not None
    rate, down = knob("FAULT_RATE", 40), knob("FAULT_DOWN_S", 8)
    steady, recover = knob("FAULT_STEADY_S", 15), knob("FAULT_RECOVER_S", 20)
    pg_mode = os.environ.get("FAULT_PG_STOP_MODE", "fast")
    load = Load(stack.url + CALL_PATH, stack.api_key, rate)
    phases: list[str] = []
    events: list[str] = []
    runner = asyncio.create_task(load.run())

    async def during(label: str, seconds: float) -> None:
        load.phase = label
        phases.append(label)
        await asyncio.sleep(seconds)

    async def act(what: str, action: Callable[[], object]) -> None:
        began = time.monotonic()
        await asyncio.to_thread(action)
        events.append(
            f"{what} at {began - load.started:.1f} s (took {time.monotonic() - began:.1f} s)"
        )

    before = cpu_snapshot(stack.roots())
    await during("steady", steady)
    load.phase = "redis down"
    phases.append(load.phase)
    await act("Redis killed (SIGKILL)", stack.redis.stop)
    await asyncio.sleep(down)
    await act("Redis started (empty)", stack.redis.start)
    await during("redis back", recover)
    load.phase = "postgres down"
    phases.append(load.phase)
    await act(f"PostgreSQL stopped (pg_ctl -m {pg_mode})", lambda: stack.postgres.stop(pg_mode))  # type: ignore[union-attr]
    if os.environ.get("FAULT_PYSPY") == "1":
        # Where the workers wait while the database is away: their stacks, halfway through.
        await asyncio.sleep(down / 2)
        await asyncio.to_thread(stack.dump_stacks, "postgres-down")
        await asyncio.sleep(down / 2)
    else:
        await asyncio.sleep(down)
    await act("PostgreSQL started", stack.postgres.start)
    await during("postgres back", recover)
    load.stop()
    await runner
    ours, foreign = foreign_cores(before, cpu_snapshot(stack.roots()))
    holds = settled(stack)
    dump(stack, load)
    ledger, ok = ledger_section(stack, load, holds)
    text = (
        f"Load: {rate:g} calls/s (open loop, at most {load.max_in_flight} in flight, "
        f"client timeout {load.timeout_s:g} s), `{PAYLOAD}`; {stack.workers} gunicorn workers.\n"
        f"Machine: this run used {ours:.2f} cores, other processes on the shared machine "
        f"{foreign:.2f} cores on average.\n\n"
        + "\n".join(f"- {event}" for event in events)
        + "\n\n### Answers by status\n\n"
        + status_table(load.answers, phases, load.skipped)
        + "\n\n### The ledger against the answers\n\n"
        + ledger
    )
    return text, ok


async def run_soak(stack: Stack) -> tuple[str, bool]:
    rate, seconds = knob("SOAK_RATE", knob("FAULT_RATE", 40)), knob("SOAK_S", 600)
    warmup, every = knob("SOAK_WARMUP_S", 60), knob("SOAK_SAMPLE_S", 10)
    load = Load(stack.url + CALL_PATH, stack.api_key, rate)
    runner = asyncio.create_task(load.run())
    pids = stack.workers_pids()
    samples: list[tuple[float, dict[int, int | None], float]] = []
    before = cpu_snapshot(stack.roots())
    while True:
        elapsed = time.monotonic() - load.started
        load.phase = "warm-up" if elapsed < warmup else "steady"
        samples.append((elapsed, {pid: rss_kb(pid) for pid in pids}, loadavg()))
        if stack.postgres is not None and not stack.postgres.running():
            # Nobody here stops it: a soak on a dead database measures nothing.
            raise RuntimeError(f"the private PostgreSQL stopped at {elapsed:.0f} s of the soak")
        if elapsed >= seconds:
            break
        await asyncio.sleep(min(every, seconds - elapsed))
    ours, foreign = foreign_cores(before, cpu_snapshot(stack.roots()))
    load.stop()
    await runner
    replaced = sorted(set(stack.workers_pids()) ^ set(pids))
    with (stack.log_dir / "rss.csv").open("w") as out:
        out.write("seconds,loadavg," + ",".join(f"rss_kb_{pid}" for pid in pids) + "\n")
        for at, rss, load1 in samples:
            out.write(f"{at:.1f},{load1}," + ",".join(str(rss[pid]) for pid in pids) + "\n")
    rows, ok = rss_rows(samples, pids, warmup)
    ok = ok and not replaced
    loads = [load1 for _, _, load1 in samples]
    holds = settled(stack)
    dump(stack, load)
    ledger, ledger_ok = ledger_section(stack, load, holds)
    text = (
        f"Soak: {rate:g} calls/s for {seconds:g} s, {len(samples)} RSS samples "
        f"(every {every:g} s), warm-up {warmup:g} s; {stack.workers} gunicorn workers "
        f"({'replaced during the run: ' + str(replaced) if replaced else 'none replaced'}).\n"
        f"Machine: this run used {ours:.2f} cores; other processes on the shared machine "
        f"{foreign:.2f} cores on average; 1-min load average min/median/max "
        f"{min(loads):.2f}/{statistics.median(loads):.2f}/{max(loads):.2f}.\n\n"
        "### RSS of every worker\n\n"
        + rows
        + "\n\n### Answers by status\n\n"
        + status_table(load.answers, ["warm-up", "steady"], load.skipped)
        + "\n\n### The ledger against the answers\n\n"
        + ledger
    )
    return text, ok and ledger_ok


def rss_rows(
    samples: list[tuple[float, dict[int, int | None], float]], pids: list[int], warmup: float
) -> tuple[str, bool]:
    """Markdown: per worker, RSS at start, after warm-up, at the end, its max and drift."""
    lines = [
        "| worker pid | RSS at start MB | after warm-up MB | at end MB | max MB | drift % "
        "| verdict |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    warm = next((i for i, (at, _, _) in enumerate(samples) if at >= warmup), len(samples) - 1)
    ok = True
    for pid in [*pids, 0]:  # 0: all workers together

        def rss(i: int, pid: int = pid) -> int:
            return sum(v or 0 for p, v in samples[i][1].items() if pid in (0, p))

        start, after, end = rss(0), rss(warm), rss(len(samples) - 1)
        top = max(rss(i) for i in range(len(samples)))
        drift = (end - after) / after * 100 if after else float("inf")
        flat = abs(drift) <= 10
        ok = ok and flat
        lines.append(
            f"| {pid or 'all'} | {start / 1024:.1f} | {after / 1024:.1f} | {end / 1024:.1f} | "
            f"{top / 1024:.1f} | {drift:+.1f} | {'within ±10 %' if flat else '**outside ±10 %**'} |"
        )
    return "\n".join(lines), ok


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "faults"
    runs: dict[str, Callable[[Stack], Coroutine[Any, Any, tuple[str, bool]]]] = {
        "faults": run_faults,
        "soak": run_soak,
    }
    if mode not in runs:
        print(f"usage: python -m bench.faults {{{'|'.join(runs)}}}", file=sys.stderr)
        return 2

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    log_dir = Path(tempfile.mkdtemp(prefix=f"gateway-{mode}-"))
    stack = Stack(log_dir, int(knob("BENCH_WORKERS", 2)))
    try:
        stack.start()
        text, ok = asyncio.run(runs[mode](stack))
    finally:
        stack.close()
        print(f"[faults] logs in {log_dir}", file=sys.stderr)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    errors = (log_dir / "gateway.log").read_text(errors="replace").count("Traceback")
    text = (
        f"## bench/faults.sh {mode} (code {commit}, {time.strftime('%Y-%m-%d %H:%M')})\n\n"
        f"{text}\n\nTracebacks in the gateway's log: {errors} ({log_dir}/gateway.log).\n"
    )
    (log_dir / "report.md").write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
