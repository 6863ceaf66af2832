"""Python client for the Service Gateway.

>>> from gateway_client import Gateway
>>> gw = Gateway(base_url="http://127.0.0.1:8000", api_key="...")
>>> gw.currency.latest_rates(base="EUR", symbols=["USD"]).data
"""

from gateway_client.aclient import AsyncGateway
from gateway_client.catalog import Catalog, MethodInfo
from gateway_client.client import Gateway
from gateway_client.core import __version__
from gateway_client.errors import (
    Conflict,
    ConnectionFailed,
    DeadlineExceeded,
    Forbidden,
    GatewayError,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PayloadTooLarge,
    PaymentRequired,
    ProvidersFailed,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from gateway_client.pending import AsyncPendingCall, PendingCall
from gateway_client.results import Document, Result
from gateway_client.retry import RetryPolicy

__all__ = [
    "AsyncGateway",
    "AsyncPendingCall",
    "Catalog",
    "Conflict",
    "ConnectionFailed",
    "DeadlineExceeded",
    "Document",
    "Forbidden",
    "Gateway",
    "GatewayError",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InvalidInput",
    "MethodInfo",
    "NotFound",
    "OutcomeUnknown",
    "PayloadTooLarge",
    "PaymentRequired",
    "PendingCall",
    "ProvidersFailed",
    "RateLimited",
    "Result",
    "RetryPolicy",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "__version__",
]
