"""What bench/faults.py reads from /proc: the gunicorn workers, their RSS, and how much CPU
the rest of the (shared) machine used meanwhile. psutil is not a dependency; /proc is enough.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The direct children of `pid` (gunicorn's workers), from every thread's children list."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return sorted(set(found))


def rss_kb(pid: int) -> int | None:
    """VmRSS of `pid` in kB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of one process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


@dataclass(frozen=True)
class CpuSnapshot:
    at: float  # seconds since boot
    busy_ticks: int  # every CPU's non-idle time, whoever used it
    ours_ticks: int  # the processes of this run (and their descendants)


def cpu_snapshot(roots: set[int]) -> CpuSnapshot:
    """CPU used so far by the machine and by the process trees under `roots`."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            parents[int(entry)], ticks[int(entry)] = stat
    ours = 0
    for pid, used in ticks.items():
        walk = pid
        while walk > 1 and walk not in roots:
            walk = parents.get(walk, 0)
        if walk in roots:
            ours += used
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in cpu[:8])
    busy = user + nice + system + irq + softirq + steal
    del idle, iowait
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return CpuSnapshot(at=uptime, busy_ticks=busy, ours_ticks=ours)


def foreign_cores(before: CpuSnapshot, after: CpuSnapshot) -> tuple[float, float]:
    """(cores this run used, cores everything else on the machine used) between two
    snapshots. 'Everything else' is other engineers' work on the shared machine."""
    wall = max(after.at - before.at, 1e-6)
    ours = (after.ours_ticks - before.ours_ticks) / TICK / wall
    busy = (after.busy_ticks - before.busy_ticks) / TICK / wall
    return ours, max(busy - ours, 0.0)


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])
