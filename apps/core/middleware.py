"""Gives every request an id (the client's X-Request-ID or a new one) and echoes it back."""

import re
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from apps.core.logging import request_id_var

# A client-sent id is echoed into headers and logs, so it must be short and tame.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_tame(sent: str) -> bool:
    """1 to 128 characters of letters, digits and `._:-`: safe in a log line and the ledger."""
    return _CLIENT_REQUEST_ID.match(sent) is not None


def request_id_for(sent: str) -> str:
    """The client's X-Request-ID when it is tame, else a new one."""
    return sent if request_id_tame(sent) else str(uuid.uuid4())


def request_id_from(request: HttpRequest) -> str:
    return request_id_for(request.headers.get("X-Request-ID", ""))


class RequestIdMiddleware:
    async_capable = True
    sync_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
    ) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = request_id_from(request)  # type: ignore[attr-defined]
        token = request_id_var.set(request.request_id)  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined,index]
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = request_id_from(request)  # type: ignore[attr-defined]
        token = request_id_var.set(request.request_id)  # type: ignore[attr-defined]
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response
