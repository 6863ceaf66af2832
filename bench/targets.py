"""Issue #17's five targets, judged on the results of one bench/run.sh run (bench/report.py).

A verdict takes the median over the rounds; a ratio or difference between two targets is
taken within one round first, since this VM's speed drifts within minutes.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

# Issue #17's targets, ratios within one run: the absolute figures move with the machine.
MIN_PEER_RATIO = 4.0  # 1. gateway calls/s over LiteLLM's at 64 connections
MIN_CEILING_RATIO = 1.0  # 2. gateway calls/s over the bare view's at 64 connections
MAX_ADDED_OVER_BARE_MS = 1.0  # 3. added latency at 1 connection, over the bare view's
MIN_SLOW_SHARE = 0.9  # 4. of min(connections / upstream wait, fast calls/s at 64)
SLOW_P99_OVER_WAIT = 2.0  # 4. p99 within twice the upstream's wait (400 ms for 200 ms)
MAX_POSTGRES_MS = 0.5  # 5. PostgreSQL CPU per call (its backends + the server's processes)

POSTGRES = ("postgres (bench db)", "postgres (server)")

Verdict = tuple[str, str, str, str]  # target, measured, threshold, PASS / MISS / not measured


class Run:
    """The recorded results of one run, looked up by target, connections and round."""

    def __init__(self, rows: list[dict], connections: int) -> None:
        self.rows = rows
        self.by = {(r["target"], r["connections"], r.get("round", 1)): r for r in rows}
        self.rounds = sorted({r.get("round", 1) for r in rows})
        self.many = connections

    def get(self, target: str, connections: int, n: int) -> dict | None:
        return self.by.get((target, connections, n))

    def per_round(self, value: Callable[[int], float | None]) -> list[float]:
        return [v for v in (value(n) for n in self.rounds) if v is not None]

    def rps(self, target: str) -> Callable[[int], float | None]:
        def of_round(n: int) -> float | None:
            r = self.get(target, self.many, n)
            return r["rps"] if r else None

        return of_round

    def ratio(self, top: str, bottom: str) -> Callable[[int], float | None]:
        def of_round(n: int) -> float | None:
            a, b = self.rps(top)(n), self.rps(bottom)(n)
            return a / b if a and b else None

        return of_round

    def added(self, target: str) -> Callable[[int], float | None]:
        """p50 at one connection minus the upstream's, straight, in the same round."""

        def of_round(n: int) -> float | None:
            one, upstream = self.get(target, 1, n), self.get("upstream", 1, n)
            return one["p50_ms"] - upstream["p50_ms"] if one and upstream else None

        return of_round

    def slow(self, key: str, connections: int) -> list[float]:
        rows = (self.get("slow", connections, n) for n in self.rounds)
        return [float(r[key]) for r in rows if r]

    def postgres_ms(self, *groups: str) -> Callable[[int], float | None]:
        """CPU ms per call of these process groups (bench/cpuacct.py) in the gateway's run."""

        def of_round(n: int) -> float | None:
            r = self.get("gateway", self.many, n)
            if not r or "cpu" not in r:
                return None
            return sum(r["cpu"]["cpu_ms_per_request"].get(g, 0.0) for g in groups)

        return of_round


def shown(values: list[float], form: str) -> str:
    text = form.format(statistics.median(values))
    if len(values) > 1:
        text += " (rounds: " + ", ".join(form.format(v) for v in values) + ")"
    return text


def verdict(
    name: str, values: list[float], form: str, rule: tuple[str, float], why: str = ""
) -> Verdict:
    """A target met when the median over rounds keeps `rule` (">=" or "<=", threshold)."""
    sign, threshold = rule
    limit = f"{sign} {why}{form.format(threshold)}"
    if not values:
        return (name, "-", limit, "not measured")
    middle = statistics.median(values)
    met = middle >= threshold if sign == ">=" else middle <= threshold
    return (name, shown(values, form), limit, "PASS" if met else "MISS")


def targets(run: Run, slow_connections: int, slow_wait_ms: float) -> list[Verdict]:
    many = run.many
    found: list[Verdict] = []
    peer = verdict(
        f"1. gateway / LiteLLM calls/s at {many} connections",
        run.per_round(run.ratio("gateway", "litellm")),
        "{:.2f}",
        (">=", MIN_PEER_RATIO),
    )
    if peer[3] == "not measured":
        peer = (*peer[:3], "not measured: BENCH_PEERS=litellm")
    found.append(peer)
    found.append(
        verdict(
            f"2. gateway / bare view calls/s at {many} connections",
            run.per_round(run.ratio("gateway", "bare")),
            "{:.2f}",
            (">=", MIN_CEILING_RATIO),
        )
    )

    def over_bare(n: int) -> float | None:
        gateway, bare = run.added("gateway")(n), run.added("bare")(n)
        return gateway - bare if gateway is not None and bare is not None else None

    found.append(
        verdict(
            "3. added latency at 1 connection minus the bare view's, ms",
            run.per_round(over_bare),
            "{:+.2f}",
            ("<=", MAX_ADDED_OVER_BARE_MS),
        )
    )
    found.extend(slow_targets(run, slow_connections, slow_wait_ms))
    postgres = verdict(
        f"5. PostgreSQL CPU ms per call at {many} connections",
        run.per_round(run.postgres_ms(*POSTGRES)),
        "{:.2f}",
        ("<=", MAX_POSTGRES_MS),
    )
    backends, server = (run.per_round(run.postgres_ms(g)) for g in POSTGRES)
    if backends and server:
        backend_ms, server_ms = statistics.median(backends), statistics.median(server)
        parts = f"backends {backend_ms:.2f} + server {server_ms:.2f}"
        postgres = (postgres[0], f"{postgres[1]}; {parts}", *postgres[2:])
    found.append(postgres)
    return found


def slow_targets(run: Run, connections: int, wait_ms: float) -> list[Verdict]:
    """Target 4: the gateway through an upstream that waits `wait_ms` per answer."""
    rps, p99 = run.slow("rps", connections), run.slow("p99_ms", connections)
    name = f"4. slow upstream ({wait_ms:.0f} ms), {connections} connections"
    if not wait_ms:
        name = "4. slow upstream"
    if not rps or not wait_ms:
        return [(name, "-", "-", "not measured: BENCH_SLOW_DELAY_MS=0")]
    fast = run.per_round(run.rps("gateway"))
    bound = connections / (wait_ms / 1000)
    why = f"{MIN_SLOW_SHARE} x {connections}/{wait_ms / 1000:g} s = "
    if fast and statistics.median(fast) < bound:
        bound = statistics.median(fast)
        why = f"{MIN_SLOW_SHARE} x fast gateway {bound:.0f} = "
    errors = sum(
        r["non2xx"] + r["socket_errors"]
        for r in run.rows
        if r["target"] == "slow" and r["connections"] == connections
    )
    return [
        verdict(f"{name}: calls/s", rps, "{:.0f}", (">=", MIN_SLOW_SHARE * bound), why),
        verdict(f"{name}: p99 ms", p99, "{:.1f}", ("<=", SLOW_P99_OVER_WAIT * wait_ms)),
        (f"{name}: errors", str(errors), "0", "PASS" if errors == 0 else "MISS"),
    ]
