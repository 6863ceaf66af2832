"""Calls as production serves them: through the ASGI application `gateway_project.asgi`
(what uvicorn runs), so the path a test takes is the path that runs.

- `GatewayClient`: Django's test client, except that a call (any HTTP method on
  /api/v1/services/{service}/{method}/) goes through the ASGI application, where
  apps.gateway.asgi_calls answers it before Django. Every other request (the admin, the
  ledger API, the schema) goes to Django's handler, as before. The `api` fixture is one.
  From a sync test each call runs in an event loop of its own, and the pipeline's ORM work
  runs on the test's thread: it sees the test's uncommitted rows, and
  django_assert_num_queries counts its queries.
- `asgi_request()`: one request through the ASGI application, from an async test.
- `asgi_post()`: one POST, and every ASGI message the application sent back, for tests of
  what goes over the wire (a document's body messages).

The application is driven as a server drives it (one `http.request` message, then a
disconnect only once the answer is complete), not over httpx: respx, which fakes vendors
in these tests, intercepts every httpx client, the ASGI transport's too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.test import Client

from apps.core import state
from apps.core.asyncdb import close_db_pool
from apps.gateway.http import CALL_PATH
from apps.routing.http import close_http_client
from gateway_project.asgi import application

__all__ = ["AsgiAnswer", "GatewayClient", "asgi_post", "asgi_request"]

# What uvicorn answers for an application that raised before it answered.
_SERVER_ERROR = {"type": "http.response.body", "body": b"Internal Server Error"}
_SERVER_ERROR_HEADERS = [("content-type", "text/plain; charset=utf-8"), ("content-length", "21")]


@dataclass
class AsgiAnswer:
    """What the application sent back: status, header fields, and every ASGI message."""

    status: int
    headers: list[tuple[str, str]]
    messages: list[dict[str, Any]] = field(repr=False)

    @property
    def chunks(self) -> list[bytes]:
        return [m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"]

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.content)


class GatewayClient(Client):
    """Django's test client whose calls go through the production ASGI application."""

    def request(self, **request: Any) -> Any:
        if not CALL_PATH.match(request.get("PATH_INFO", "")):
            return super().request(**request)
        environ = self._base_environ(**request)  # type: ignore[attr-defined]
        try:
            answer = async_to_sync(_answer_and_close)(**_request_of(environ))
        except Exception:
            if self.raise_request_exception:
                raise
            # What the server (uvicorn) answers when the application raises.
            answer = AsgiAnswer(status=500, headers=_SERVER_ERROR_HEADERS, messages=[_SERVER_ERROR])
        return _django_response(answer)


async def asgi_request(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    query: str = "",
    client_ip: str = "127.0.0.1",
    host: str = "testserver",
    app: Any = application,
) -> AsgiAnswer:
    """One request through the ASGI application (or `app`), as uvicorn hands it over."""
    fields = {"host": host, **{k.lower(): v for k, v in (headers or {}).items()}}
    if body:
        fields.setdefault("content-length", str(len(body)))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()],
        "client": (client_ip, 50000),
        "server": ("127.0.0.1", 80),
    }
    answered = asyncio.Event()
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await answered.wait()  # a client that stays until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    finally:
        answered.set()
    start = sent[0]
    headers_sent = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return AsgiAnswer(status=start["status"], headers=headers_sent, messages=sent[1:])


async def asgi_post(path: str, body: dict[str, Any], headers: dict[str, str]) -> list[dict]:
    """POST through the ASGI application; every message it sends back, in order."""
    answer = await asgi_request(
        "POST",
        path,
        headers={"content-type": "application/json", **headers},
        body=json.dumps(body).encode(),
        host="127.0.0.1",
    )
    start = {
        "type": "http.response.start",
        "status": answer.status,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers],
    }
    return [start, *answer.messages]


def _request_of(environ: dict[str, Any]) -> dict[str, Any]:
    """asgi_request's arguments for the WSGI environ of Django's test client."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and (value != "" or key != "HTTP_COOKIE")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "headers": headers,
        "body": environ["wsgi.input"].read(length) if length else b"",
        "query": environ.get("QUERY_STRING", ""),
        "client_ip": environ["REMOTE_ADDR"],
        "host": headers.pop("host", environ["SERVER_NAME"]),
    }


async def _answer_and_close(**request: Any) -> AsgiAnswer:
    """The answer; the event loop ends with the call, so its HTTP client, database pool and
    Redis client are closed before it does (the breakers' queued successes written first)."""
    try:
        with _connections_kept():
            return await asgi_request(**request)
    finally:
        await close_http_client()
        await close_db_pool()
        await state.close_async_client()


@contextmanager
def _connections_kept() -> Iterator[None]:
    """Should Django's handler serve the call, it must not close the test's connection at
    the end of the request (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _django_response(answer: AsgiAnswer) -> HttpResponseBase:
    """The answer as the test client's responses are: `response["X-Price"]`, `.json()`, and
    `.streaming_content` for a document (an attachment), as Django's FileResponse had it."""
    response: HttpResponseBase
    if answer.header("content-disposition") is None:
        response = HttpResponse(answer.content, status=answer.status)
        response.json = lambda: json.loads(response.content)  # type: ignore[attr-defined]
    else:  # a document
        response = StreamingHttpResponse(iter(answer.chunks), status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response
