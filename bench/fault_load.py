"""A small open-loop load generator for bench/faults.py: a fixed call rate on loopback, each
answer kept with its request id, status and kind, and counted per phase of the run.

Open loop (a call every 1/rate s whatever the answers do) so that a fault which slows the
gateway down does not also slow the load down and hide itself; `max_in_flight` bounds it, and
a tick that finds that many calls open is counted as `skipped`, not sent later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

CALL_PATH = "/api/v1/services/currency/latest_rates/"
PAYLOAD = {"base": "EUR", "symbols": ["USD", "GBP"]}
DEADLINE_S = 5.0  # bench/bench.yaml's deadline_ms for currency.latest_rates


@dataclass(frozen=True)
class Answer:
    """One call as the client saw it."""

    request_id: str
    phase: str
    sent_at: float  # seconds since the load started
    took_s: float
    status: int  # 0: no HTTP answer at all (`kind` says why)
    kind: str  # ok | problem | bare | transport:<error>
    code: str = ""  # the problem's type, last path segment (database-unavailable, ...)
    attempts: int = 0  # providers the problem says were tried

    @property
    def column(self) -> str:
        """The column of the results table this answer is counted in."""
        if self.kind.startswith("transport"):
            return "no answer"
        if self.kind == "bare":
            return "bare (not problem+json)"
        if self.status == 200:
            return "200"
        if self.status == 503:
            return f"503 {self.code or '?'}"
        if self.status in (502, 504):
            return "502/504"
        return f"other {self.status}"


def classify(response: httpx.Response, request_id: str) -> tuple[str, str, int, str]:
    """(kind, problem code, attempts, request id) of one answer."""
    content_type = response.headers.get("content-type", "")
    answered_id = response.headers.get("x-request-id", request_id)
    body: Any = None
    with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
        body = response.json()
    if not isinstance(body, dict):
        return "bare", "", 0, answered_id
    if content_type.startswith("application/problem+json"):
        code = str(body.get("type", "")).rstrip("/").rsplit("/", 1)[-1]
        return "problem", code, len(body.get("attempts") or []), answered_id
    if response.status_code == 200 and body.get("status") == "succeeded":
        return "ok", "", 0, str(body.get("request_id", answered_id))
    return "bare", "", 0, answered_id


@dataclass
class Load:
    """Calls `url` at `rate` per second until `stop()`; `phase` labels the calls sent next."""

    url: str
    api_key: str
    rate: float
    max_in_flight: int = 256
    timeout_s: float = 15.0
    phase: str = "warm-up"
    answers: list[Answer] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _open: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=32)
        async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits) as client:
            self.started = time.monotonic()
            tick = 0
            while not self._stopping.is_set():
                tick += 1
                if len(self._open) >= self.max_in_flight:
                    self.skipped[self.phase] += 1
                else:
                    task = asyncio.create_task(self._call(client))
                    self._open.add(task)
                    task.add_done_callback(self._open.discard)
                # The next tick's absolute time: no drift however long each call takes.
                delay = self.started + tick / self.rate - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
            if self._open:
                await asyncio.wait(self._open)

    def stop(self) -> None:
        self._stopping.set()

    async def _call(self, client: httpx.AsyncClient) -> None:
        # Our own id, so that even an answer without one (a bare 500, no answer at all) can be
        # looked up in the ledger.
        request_id = f"fl-{uuid.uuid4().hex}"
        phase, sent = self.phase, time.monotonic()
        headers = {"Authorization": f"Api-Key {self.api_key}", "X-Request-ID": request_id}
        try:
            response = await client.post(self.url, json=PAYLOAD, headers=headers)
        except httpx.HTTPError as exc:
            status, kind, code, attempts = 0, f"transport:{type(exc).__name__}", "", 0
        else:
            status = response.status_code
            kind, code, attempts, request_id = classify(response, request_id)
        self.answers.append(
            Answer(
                request_id=request_id,
                phase=phase,
                sent_at=round(sent - self.started, 3),
                took_s=round(time.monotonic() - sent, 3),
                status=status,
                kind=kind,
                code=code,
                attempts=attempts,
            )
        )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def status_table(answers: list[Answer], phases: list[str], skipped: Counter[str]) -> str:
    """Markdown: per phase, the answers counted by column, and the latencies."""
    columns = sorted({answer.column for answer in answers}, key=_column_order)
    head = ["phase", "calls", *columns, "skipped (client at its cap)", "p50 s", "p99 s", "max s"]
    head.append(f"answered after {DEADLINE_S:g} s")
    lines = ["| " + " | ".join(head) + " |", "|---|" + "--:|" * (len(head) - 1)]
    for phase in [*phases, "all"]:
        chosen = [a for a in answers if phase == "all" or a.phase == phase]
        counts = Counter(answer.column for answer in chosen)
        took = [answer.took_s for answer in chosen]
        skips = sum(skipped.values()) if phase == "all" else skipped[phase]
        row = [phase, str(len(chosen)), *(str(counts[c]) for c in columns), str(skips)]
        row += [f"{percentile(took, 0.5):.3f}", f"{percentile(took, 0.99):.3f}"]
        row.append(f"{max(took, default=0):.3f}")
        row.append(str(sum(1 for answer in chosen if answer.took_s > DEADLINE_S)))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _column_order(column: str) -> tuple[int, str]:
    order = ["200", "503", "502/504", "other", "bare", "no answer"]
    return next(i for i, prefix in enumerate([*order, ""]) if column.startswith(prefix)), column
