"""The gateway's Prometheus instruments, and the hooks the call path records them through.

Every server process counts into these; `GET /metrics` (apps.monitoring.views) adds them
up over all the processes of one server when PROMETHEUS_MULTIPROC_DIR is set (gunicorn:
deploy/gunicorn.conf.py sets it), so a scrape answered by any worker counts every worker's
calls. Without it (`make run`: one uvicorn process) they live in this process's registry.

The hooks cost no I/O: an increment or an observation in memory (or in the worker's mmap
file). Label values come only from bounded sets: a resolved method's key, a provider slug
from the catalog, an HTTP status, a channel, a classified outcome; never a client, a key or
anything a caller typed (an unknown method is counted with an empty method).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import wraps
from typing import ParamSpec

from prometheus_client import Counter, Histogram

from apps.catalog.providers import (
    OUTCOME_ADAPTER_ERROR,
    OUTCOME_AUTH,
    OUTCOME_CONNECTION,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OK,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    OUTCOME_REJECTED,
    OUTCOME_TIMEOUT,
)

# Seconds. 0.5 and 1 are SLO thresholds in deploy/prometheus/alerts.yml: keep them.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

OUTCOMES = frozenset(
    {
        OUTCOME_OK,
        OUTCOME_REJECTED,
        OUTCOME_CONNECTION,
        OUTCOME_TIMEOUT,
        OUTCOME_HTTP_ERROR,
        OUTCOME_MALFORMED,
        OUTCOME_OUTAGE,
        OUTCOME_QUOTA,
        OUTCOME_AUTH,
        OUTCOME_MISCONFIGURED,
        OUTCOME_ADAPTER_ERROR,
    }
)
# An outcome an adapter made up is counted as this, so no adapter can mint label values.
OTHER = "other"

CALLS = Counter(
    "gateway_calls",
    "Calls answered, by method, serving provider, HTTP status and channel.",
    ["service", "method", "provider", "status", "channel"],
)
CALL_DURATION = Histogram(
    "gateway_call_duration_seconds",
    "Time from a call's arrival to its answer, by method.",
    ["service", "method"],
    buckets=DURATION_BUCKETS,
)
ATTEMPTS = Counter(
    "gateway_provider_attempts",
    "Provider attempts, by provider, method and classified outcome.",
    ["provider", "method", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "gateway_provider_latency_seconds",
    "How long a provider took to answer an attempt (answers only: not refused connections, "
    "nor attempts cut short by the call's deadline).",
    ["provider", "method"],
    buckets=DURATION_BUCKETS,
)
CHARGED = Counter(
    "gateway_charged",
    "Money charged to clients (the method's price, as recorded on ledger rows).",
    ["currency"],
)


P = ParamSpec("P")
logger = logging.getLogger(__name__)


def never_raises(hook: Callable[P, None]) -> Callable[P, None]:
    """A hook that cannot fail the call it counts: the call path runs these after a charge
    has committed, where an exception would turn a served call into an error (and a second
    ledger row). A multiprocess directory that is full or gone costs the metric, not the call."""

    @wraps(hook)
    def counted(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            hook(*args, **kwargs)
        except Exception:
            logger.exception("metrics: %s could not record", hook.__name__)

    return counted


@never_raises
def call_answered(
    *, method: str, provider: str, status: int, channel: str, duration_s: float
) -> None:
    """One call's answer: `method` is the resolved method's key ("" when none resolved)."""
    key = (method, provider, status, channel)
    children = _call_children.get(key)
    if children is None:
        service = method.partition(".")[0]
        children = _call_children[key] = (
            CALLS.labels(service, method, provider, str(status), channel),
            CALL_DURATION.labels(service, method),
        )
    children[0].inc()
    children[1].observe(duration_s)


@never_raises
def attempts_made(method: str, attempts: Iterable[tuple[str, str, int | None]]) -> None:
    """A call's provider attempts: (provider slug, outcome, latency in ms or None)."""
    for provider, outcome, latency_ms in attempts:
        key = (provider, method, outcome)
        children = _attempt_children.get(key)
        if children is None:
            children = _attempt_children[key] = (
                ATTEMPTS.labels(provider, method, outcome if outcome in OUTCOMES else OTHER),
                PROVIDER_LATENCY.labels(provider, method),
            )
        children[0].inc()
        if latency_ms is not None:
            children[1].observe(latency_ms / 1000)


@never_raises
def charged(currency: str, amount: Decimal) -> None:
    """A charge that committed with its ledger row (the ledger itself keeps the Decimal)."""
    if amount:
        CHARGED.labels(currency).inc(float(amount))


# The labelled children already made, by their label values: `labels()` validates and locks
# on every call, a dict lookup does not. Bounded as the label values are.
_call_children: dict[tuple[str, str, int, str], tuple[Counter, Histogram]] = {}
_attempt_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
