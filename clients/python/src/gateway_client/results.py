"""What a call answers: a Result (the JSON envelope) or a Document (a method's file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx


@dataclass(frozen=True)
class Result:
    """A successful call.

    `data` is the method's normalised answer; `provider` and `price` (a Decimal, what you
    were charged) come from the X-Provider and X-Price headers, so they are None for a
    background call's result. `replayed` is True when the gateway answered the stored
    outcome of an earlier call with the same Idempotency-Key (same `request_id`, no charge).
    """

    request_id: str
    data: dict[str, Any] | None
    service: str = ""
    method: str = ""
    provider: str | None = None
    price: Decimal | None = None
    status_code: int = 200
    replayed: bool = False
    cache: str | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers, repr=False)
    content: bytes = field(default=b"", repr=False)
    content_type: str = "application/json"


@dataclass(frozen=True)
class Document(Result):
    """A method that answers a file (docs.html_to_pdf): its bytes are `content`."""

    filename: str | None = None

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.content)
        return target


def _price(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename":
            return value.strip('"') or None
    return None


def result_from_response(response: httpx.Response, method: str) -> Result:
    """The Result of a 2xx answer to a call of `method` ("service.name")."""
    headers = response.headers
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    service, _, name = method.partition(".")
    common: dict[str, Any] = {
        "request_id": headers.get("X-Request-ID", ""),
        "service": service,
        "method": name,
        "provider": headers.get("X-Provider"),
        "price": _price(headers.get("X-Price")),
        "status_code": response.status_code,
        "replayed": headers.get("Idempotent-Replayed") == "true",
        "cache": headers.get("X-Cache"),
        "headers": headers,
        "content": response.content,
        "content_type": content_type,
    }
    if content_type != "application/json":
        return Document(data=None, filename=_filename(headers.get("Content-Disposition")), **common)
    body = response.json()
    common["request_id"] = body.get("request_id") or common["request_id"]
    return Result(data=body.get("data"), **common)


def result_from_view(view: dict[str, Any]) -> Result:
    """The Result of a background call's final view (GET /api/v1/requests/{id}/ or the
    websocket message) that succeeded."""
    body = view.get("result") or {}
    return Result(
        request_id=str(view.get("request_id") or body.get("request_id") or ""),
        data=body.get("data"),
        service=str(view.get("service") or body.get("service") or ""),
        method=str(view.get("method") or body.get("method") or ""),
        provider=body.get("provider"),
        price=_price(body.get("price")),
        status_code=int(view.get("http_status") or 200),
    )


def usage_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of GET /api/v1/usage/, its money as Decimal."""
    return {k: _price(v) if k in ("price", "amount") else v for k, v in row.items()}


def usage_query(
    method: str | None, created_after: datetime | str | None, created_before: datetime | str | None
) -> str:
    given = {"method": method, "created_after": created_after, "created_before": created_before}
    params = {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in given.items()
        if v is not None
    }
    return f"/api/v1/usage/?{urlencode(params)}" if params else "/api/v1/usage/"


def local_path(url: str) -> str:
    """The path and query of a link the gateway sent (`next`, `status_url`): the client asks
    its own base URL, so a link naming another scheme or host (a proxy that rewrote it to
    http://, a forged answer) never receives the API key."""
    parts = urlsplit(url)
    path = "/" + parts.path.lstrip("/")
    return f"{path}?{parts.query}" if parts.query else path
