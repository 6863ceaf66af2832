"""What the executor hands back: the call served (CallOutcome) or not (CallFailed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.core.errors import DeadlineExceeded
from apps.routing.attempts import Attempt, public_attempts
from apps.routing.routes import MethodRoute, OfferingRoute


@dataclass
class CallOutcome:
    data: dict[str, Any]
    offering: OfferingRoute
    cost: Decimal
    attempts: list[Attempt]
    decision: dict[str, Any] = field(default_factory=dict)


class CallFailed(Exception):
    """Carries the attempts and decision along with the error the client will see."""

    def __init__(self, error: Exception, attempts: list[Attempt], decision: dict[str, Any]) -> None:
        self.error = error
        self.attempts = attempts
        self.decision = decision
        super().__init__(str(error))


def deadline_exceeded(route: MethodRoute, attempts: list[Attempt]) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"{route.key} did not complete within {route.policy.deadline_ms} ms.",
        attempts=public_attempts(attempts),
    )
