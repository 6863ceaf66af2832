"""The stages of a call, each a frozen value that the step before it returns.

    GatewayRequest                      what arrived (HTTP, websocket, queue, background run)
      -> Admitted | Replayed | Refused  apps.gateway.admission
      -> Served | Cached | Failed | Accepted | Refused
                                        apps.gateway.pipeline (route) / apps.gateway.background
      -> GatewayResponse                apps.gateway.recording (one function per outcome)

Nothing is filled in later: a step that learns something returns a new value. A call that
is refused carries what was known of it when it was (its `Admission`), which is what its
ledger row and the release of its hold, free call and Idempotency-Key need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from apps.accounts.authentication import Principal
from apps.billing.pricebook import PriceBook
from apps.billing.ratelimits import FreeAllowance
from apps.billing.services import HeldCredit
from apps.catalog.documents import Document
from apps.catalog.registry import Preparation
from apps.core import jsonbytes
from apps.core.errors import GatewayError
from apps.core.money import ZERO
from apps.ledger.models import LedgerEntry
from apps.routing.executor import CallFailed, CallOutcome
from apps.routing.routes import MethodRoute

__all__ = [
    "Accepted",
    "Admission",
    "Admitted",
    "BackgroundRun",
    "Cached",
    "Failed",
    "GatewayRequest",
    "GatewayResponse",
    "Outcome",
    "Refused",
    "Replayed",
    "RetryLater",
    "Served",
]


@dataclass(frozen=True)
class GatewayRequest:
    """A call, whatever way it arrived."""

    request_id: str
    service: str
    method: str
    body: bytes
    headers: Mapping[str, str]
    channel: str = LedgerEntry.Channel.HTTP
    source_ip: str | None = None
    # Set when the caller was authenticated by the way the call arrived (an MQ message
    # names its client; the channel itself is trusted): no credentials in the headers.
    principal: Principal | None = None
    # Prefer: respond-async: admit the call now, answer 202, run it in the background.
    respond_async: bool = False
    callback_url: str = ""


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)  # never changed once built
    content_type: str = "application/json"
    # Set on an idempotent replay: the request id of the first call, which it answers with.
    request_id: str | None = None
    # A method answering a document (MethodSpec.media_type): the bytes the HTTP entry points
    # stream instead of rendering `body` (which then only summarises the call).
    document: Document | None = None

    def render(self) -> bytes:
        return jsonbytes.dumps(self.body)


SettleOnce = Callable[[GatewayResponse, list[dict[str, Any]]], bool]


@dataclass(frozen=True)
class BackgroundRun:
    """What a background run (apps.gateway.background_run) adds to a call it runs again."""

    async_call_id: int
    # The step that marks the AsyncCall final in the ledger row's transaction (False when
    # another delivery of the task settled it first: then nothing is recorded twice).
    settle_once: SettleOnce
    # The attempts of its earlier runs: they go on the one ledger row.
    prior_attempts: tuple[dict[str, Any], ...] = ()
    # Whether a provider fault ends this run only (RetryLater), not the call.
    retry_if: Callable[[CallFailed], bool] | None = None


@dataclass(frozen=True)
class Admission:
    """What admission has established about a call so far; each step returns a new one.

    A call refused part way keeps it (in `Refused`): its ledger row names whatever was
    known, and whatever it took (a free call, an Idempotency-Key, a hold) is given back.
    """

    request: GatewayRequest
    started: float  # time.monotonic() when the call arrived
    principal: Principal | None = None
    route: MethodRoute | None = None
    country: str = ""
    price: Decimal = ZERO
    free: FreeAllowance | None = None  # the call took one of the month's free calls
    rate_headers: Mapping[str, str] = field(default_factory=dict)
    idempotency_id: int | None = None
    hold: HeldCredit | None = None
    run: BackgroundRun | None = None


@dataclass(frozen=True)
class Admitted:
    """A call that may be routed: who, what, at which price, with its credit held."""

    admission_outcome: ClassVar[str] = "admitted"

    request: GatewayRequest
    started: float
    principal: Principal
    route: MethodRoute
    pricing: PriceBook
    payload: dict[str, Any]  # validated (a prepare hook's rewrite is in `prepared`)
    country: str
    price: Decimal  # what the call is charged if it is billable (0 for a free call)
    hold: HeldCredit | None = None
    free: FreeAllowance | None = None
    rate_headers: Mapping[str, str] = field(default_factory=dict)
    idempotency_id: int | None = None
    # What the method's prepare hook decided (its pin, its routing country).
    prepared: Preparation | None = None
    run: BackgroundRun | None = None


@dataclass(frozen=True)
class Replayed:
    """An Idempotency-Key seen before: the first call's stored answer, nothing routed."""

    admission_outcome: ClassVar[str] = "answered"
    kind: ClassVar[str] = "replayed"

    call: Admission
    response: GatewayResponse


@dataclass(frozen=True)
class Served:
    """A provider answered."""

    kind: ClassVar[str] = "served"

    call: Admitted
    response: GatewayResponse
    outcome: CallOutcome
    shown: dict[str, Any]  # the data as the client sees it (the method's `present` applied)


@dataclass(frozen=True)
class Cached:
    """The response cache answered (apps.gateway.cache)."""

    kind: ClassVar[str] = "cached"

    call: Admitted
    response: GatewayResponse
    stored_at: float  # unix time the answer was stored
    origin: str  # the provider whose answer it is


@dataclass(frozen=True)
class Failed:
    """Every provider tried failed (or none could be tried); `failed` carries the attempts."""

    kind: ClassVar[str] = "failed"

    call: Admitted
    response: GatewayResponse
    failed: CallFailed

    @property
    def error(self) -> GatewayError:
        assert isinstance(self.failed.error, GatewayError)
        return self.failed.error


@dataclass(frozen=True)
class Accepted:
    """Prefer: respond-async: stored as an AsyncCall, answered 202; a worker runs it."""

    kind: ClassVar[str] = "accepted"

    call: Admitted
    response: GatewayResponse


@dataclass(frozen=True)
class Refused:
    """A call answered with an error before any provider answered (or by the gateway's own
    failure): its `call` is what was known of it then."""

    admission_outcome: ClassVar[str] = "refused"
    kind: ClassVar[str] = "refused"

    call: Admission | Admitted
    response: GatewayResponse
    error: GatewayError


Outcome = Served | Cached | Failed | Accepted | Replayed | Refused


class RetryLater(Exception):
    """A background run met a provider fault that another run may get past; nothing recorded."""

    def __init__(self, failed: CallFailed) -> None:
        self.failed = failed
        super().__init__(str(failed))
