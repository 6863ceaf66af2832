"""Turning an HTTP call into the pipeline's GatewayRequest: shared by both HTTP entry points
(the ASGI endpoint in apps.gateway.asgi_calls and the Django view in apps.gateway.api)."""

from collections.abc import Mapping

from apps.gateway.background import callback_url_check, prefers_async
from apps.gateway.call import GatewayRequest
from apps.ledger.models import LedgerEntry


def gateway_request_for(
    *,
    request_id: str,
    service: str,
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    source_ip: str | None,
) -> GatewayRequest:
    """The call as the pipeline takes it; a GatewayError for a bad X-Callback-URL."""
    respond_async = prefers_async(headers.get("Prefer", ""))
    callback_url = headers.get("X-Callback-URL", "").strip()
    if callback_url:
        callback_url_check(callback_url)
    return GatewayRequest(
        request_id=request_id,
        service=service,
        method=method,
        body=body,
        headers=headers,
        channel=LedgerEntry.Channel.ASYNC if respond_async else LedgerEntry.Channel.HTTP,
        source_ip=source_ip,
        respond_async=respond_async,
        callback_url=callback_url,
    )
