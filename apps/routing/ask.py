"""One attempt at one provider: the adapter called within the time left, the answer or the
failure classified, and what it tells the provider's breaker kept for the end of the call."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from apps.catalog.providers import (
    OUTCOME_MISCONFIGURED,
    OUTCOME_TIMEOUT,
    CallContext,
    InvalidInput,
    ProviderFault,
)
from apps.observability.spans import attempt_traced
from apps.routing.attempts import Attempt, attempt_failed, attempt_ok, failure_of
from apps.routing.breaker_rules import NEUTRAL, PROBE, AttemptRecord, attempt_record
from apps.routing.breakers import RouteState
from apps.routing.routes import MethodRoute, OfferingRoute

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutedCall:
    """One call as the executor walks its candidates.

    `decision` (for the ledger row) and `records` (for the breakers, sent once at the end)
    are filled in as candidates are skipped, tried, or stopped at.
    """

    route: MethodRoute
    payload: dict[str, Any]
    context: CallContext
    state: RouteState
    deadline: float
    http: httpx.AsyncClient
    decision: dict[str, Any]
    records: list[AttemptRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """What one attempt at one provider came to: its data, or the error it ended with."""

    attempt: Attempt
    data: dict[str, Any] | None = None
    error: Exception | None = None


async def ask(call: RoutedCall, offering: OfferingRoute, remaining: float) -> Answer:
    """One attempt at one provider within `remaining` seconds, recorded for its breaker.

    Every failure is caught and classified: a bug in one adapter must not take the call down.
    """
    probe = call.state.of(offering).status == PROBE
    started = time.monotonic()
    try:
        with attempt_traced(offering.provider.slug, call.route.key, failure_of):
            if not offering.credentials_readable:
                raise ProviderFault(
                    OUTCOME_MISCONFIGURED,
                    "credentials cannot be decrypted with the configured keys",
                    sent=False,
                )
            adapter = offering.adapter(offering.provider, call.http)
            # asyncio.timeout, not wait_for: no extra task per attempt on every call's path.
            async with asyncio.timeout(remaining):
                data = await adapter.call(call.route.spec.name, call.payload, call.context)
    except ProviderFault as fault:
        answer = Answer(attempt_failed_at(offering, fault, started), error=fault)
        call.records.append(attempt_record(offering, answer.attempt, probe=probe, fault=fault))
        return answer
    except TimeoutError as exc:
        # Cut short by our own deadline: that says nothing about the provider.
        call.records.append(AttemptRecord(offering, NEUTRAL, OUTCOME_TIMEOUT, probe=probe))
        return Answer(attempt_failed_at(offering, exc, started), error=exc)
    except Exception as exc:
        if not isinstance(exc, InvalidInput):
            logger.exception("adapter %s raised on %s", offering.adapter.key, call.route.key)
        answer = Answer(attempt_failed_at(offering, exc, started), error=exc)
        call.records.append(attempt_record(offering, answer.attempt, probe=probe))
        return answer
    attempt = attempt_ok(offering.provider.slug, ms_since(started))
    call.records.append(attempt_record(offering, attempt, probe=probe))
    return Answer(attempt, data=data)


def attempt_failed_at(offering: OfferingRoute, exc: BaseException, started: float) -> Attempt:
    return attempt_failed(
        offering.provider.slug, exc, ms_since(started), offering.provider.credentials
    )


def ms_since(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
