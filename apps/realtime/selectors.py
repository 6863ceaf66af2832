"""Reads of the realtime app."""

from __future__ import annotations

from typing import Any

from apps.realtime.models import AsyncCall


def async_call_get(*, client_id: int, request_id: str) -> AsyncCall | None:
    """One of the client's background calls; None for another client's (or no) call."""
    return AsyncCall.objects.filter(client_id=client_id, request_id=request_id).first()


def async_call_view(call: AsyncCall) -> dict[str, Any]:
    """Status and, when final, the result: the body a synchronous call would have returned."""
    view: dict[str, Any] = {
        "request_id": call.request_id,
        "service": call.service,
        "method": call.method,
        "status": call.status,
        "created_at": call.created_at.isoformat(),
        "finished_at": call.finished_at.isoformat() if call.finished_at else None,
        "runs": call.runs,
    }
    if call.is_final:
        view["http_status"] = call.result_status
        view["result"] = call.result
    return view
