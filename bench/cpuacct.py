"""Where the CPU goes during one load run: per-process CPU time from /proc, grouped.

    python bench/cpuacct.py snap FILE            # before and after a run
    python bench/cpuacct.py diff BEFORE AFTER --requests N
    python bench/cpuacct.py quiet [--max-busy 0.15] [--wait 60]
    python bench/cpuacct.py calibrate           # ms for a fixed Python loop (machine speed)

`diff` prints one JSON object: CPU milliseconds per request of each group (the gateway or
bare-proxy workers, the upstream, PostgreSQL backends of the bench database, Redis, wrk),
the busy share of the machine, and `foreign`: CPU used by processes that are not part of the
benchmark (another test suite on the machine makes a run unrepresentative).
`quiet` waits until the machine is nearly idle, so a run does not start on top of other work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
BENCH_DB = "gateway_bench"

GROUPS = [  # first match wins: (group, comm, cmdline fragment)
    ("gateway", "", "gateway_project.asgi"),
    ("bare proxy", "", "bench.bare_proxy.asgi"),
    ("upstream", "", "bench/upstream.py"),
    ("litellm", "", "gateway-bench-peers/litellm-"),  # the peer's venv (bench/peers/)
    ("postgres (bench db)", "postgres", BENCH_DB),
    ("redis", "redis-server", ""),
    ("py-spy", "py-spy", ""),
    ("wrk", "", "bench/run.sh"),  # run.sh itself, and wrk, its child
]
# A PostgreSQL backend serving a client ("postgres: 15/main: user db 127.0.0.1(5432) idle"):
# one of another database is someone else's work; the server's own processes (WAL writer,
# checkpointer) work for the benchmark too.
_CLIENT_BACKEND = re.compile(r"^postgres: \S+: \S+ \S+ (\S+\(\d+\)|\[local\])")


def _cpu_fields() -> list[int]:
    # user nice system idle iowait irq softirq steal
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def _busy_ticks() -> tuple[int, int]:
    fields = _cpu_fields()
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def snapshot() -> dict[str, object]:
    processes = {}
    me = str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or entry.name == me:
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        # utime + stime of all threads, + cutime + cstime: children it has reaped (wrk, or
        # a test run that starts and ends within the measured run) count for the parent. Not
        # for PostgreSQL: the postmaster reaps the backends of every database, so other
        # people's closed connections would count as the server's work for the benchmark.
        counted = rest[11:13] if comm == "postgres" else rest[11:15]
        processes[entry.name] = {
            "comm": comm,
            "cmd": cmdline[:300],
            "ticks": sum(int(v) for v in counted),
        }
    fields = _cpu_fields()
    busy, total = _busy_ticks()
    return {
        "time": time.monotonic(),
        "busy": busy,
        "total": total,
        "process_time": fields[0] + fields[1] + fields[2] + fields[7],  # not idle, irq, softirq
        "processes": processes,
    }


def _group(process: dict[str, str]) -> str:
    for name, comm, fragment in GROUPS:
        if comm and process["comm"] != comm:
            continue
        if fragment and fragment not in process["cmd"]:
            continue
        return name
    if process["comm"] == "postgres" and not _CLIENT_BACKEND.match(process["cmd"]):
        return "postgres (server)"
    return "foreign"


def diff(before: dict, after: dict, requests: int) -> dict[str, object]:
    seconds = after["time"] - before["time"]
    groups: dict[str, int] = {}
    for pid, process in after["processes"].items():
        old = before["processes"].get(pid)
        used = process["ticks"] - (old["ticks"] if old and old["comm"] == process["comm"] else 0)
        if used > 0:
            name = _group(process)
            groups[name] = groups.get(name, 0) + used
    busy = after["busy"] - before["busy"]
    # A parent's reaped children count in full, even the part they ran before the first
    # snapshot: foreign can never be more than what the benchmark's own processes left.
    ours = sum(v for k, v in groups.items() if k != "foreign")
    left = after["process_time"] - before["process_time"] - ours
    groups["foreign"] = max(0, min(groups.get("foreign", 0), left))
    # CPU not charged to a live process: the kernel (loopback networking, interrupts) and
    # exited processes whose parent did not reap them.
    groups["kernel, exited"] = max(0, busy - sum(groups.values()))
    ms = 1000 / TICK
    return {
        "seconds": round(seconds, 2),
        "cores_busy": round(busy / TICK / seconds, 2),
        "cpu_ms_per_request": {k: round(v * ms / max(requests, 1), 3) for k, v in groups.items()},
        "cores": {k: round(v / TICK / seconds, 3) for k, v in groups.items()},
    }


def quiet(max_busy: float, wait: float) -> bool:
    deadline = time.monotonic() + wait
    cores = os.cpu_count() or 1
    while True:
        busy0, total0 = _busy_ticks()
        time.sleep(1.0)
        busy1, total1 = _busy_ticks()
        share = (busy1 - busy0) / max(total1 - total0, 1)
        if share <= max_busy:
            return True
        if time.monotonic() > deadline:
            print(
                f"machine still {share * cores:.2f} cores busy after {wait:.0f} s", file=sys.stderr
            )
            return False


def calibrate() -> float:
    """Milliseconds for a fixed pure-Python loop, best of 3: how fast this machine is now
    (a shared VM can be slower one hour than the next; compare runs with it)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snap")
    snap.add_argument("file", type=Path)
    compare = sub.add_parser("diff")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    compare.add_argument("--requests", type=int, required=True)
    wait = sub.add_parser("quiet")
    wait.add_argument("--max-busy", type=float, default=0.15, help="share of all cores")
    wait.add_argument("--wait", type=float, default=60)
    sub.add_parser("calibrate")
    args = parser.parse_args()
    if args.command == "snap":
        args.file.write_text(json.dumps(snapshot()))
    elif args.command == "diff":
        before, after = (json.loads(p.read_text()) for p in (args.before, args.after))
        print(json.dumps(diff(before, after, args.requests)))
    elif args.command == "calibrate":
        print(f"{calibrate():.0f}")
    else:
        return 0 if quiet(args.max_busy, args.wait) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
