"""A background call (Prefer: respond-async) and waiting for its result: pushed over
WS /ws/requests/{id}/, or, when the socket cannot be had, by polling its status URL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import urljoin

from gateway_client.errors import GatewayError, error_from_problem
from gateway_client.results import Result, local_path, result_from_view

Via = Literal["auto", "websocket", "poll"]
POLL_FIRST_S, POLL_MAX_S = 0.2, 2.0
NOT_FINAL = frozenset({"pending", "running"})


def is_final(view: dict[str, Any]) -> bool:
    return view.get("status") not in NOT_FINAL


def outcome(view: dict[str, Any]) -> Result:
    """A final view as the synchronous call would have ended: a Result, or its error."""
    http_status = int(view.get("http_status") or 200)
    body = view.get("result")
    if http_status >= 400:
        problem = body if isinstance(body, dict) else {"detail": f"The call {view['status']}."}
        raise error_from_problem(http_status, problem)
    return result_from_view(view)


def websocket_address(base_url: str, websocket_url: str) -> str:
    url = urljoin(base_url + "/", local_path(websocket_url))
    return "ws" + url.removeprefix("http") if url.startswith("http") else url


def _websocket_failures() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import WebSocketException

    return (WebSocketException, OSError, ValueError)


class _Pending:
    def __init__(
        self,
        *,
        request_id: str,
        method: str,
        status_url: str,
        websocket_url: str,
        base_url: str,
        auth_headers: dict[str, str],
        done: Result | None = None,
    ) -> None:
        self.request_id = request_id
        self.method = method
        self.status_url = local_path(status_url) if status_url else ""
        self.websocket_url = websocket_url
        self._base_url = base_url
        self._auth_headers = auth_headers
        self._done = done

    @property
    def websocket_address(self) -> str:
        return websocket_address(self._base_url, self.websocket_url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.request_id}>"


class PendingCall(_Pending):
    """What `Gateway.submit` returns; `wait()` gives the call's Result (or raises its error)."""

    def __init__(self, get_view: Callable[[str], dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._get_view = get_view

    def status(self) -> dict[str, Any]:
        """The call's current view (GET /api/v1/requests/{id}/)."""
        return self._get_view(self.status_url)

    def wait(self, timeout: float = 60.0, *, via: Via = "auto") -> Result:
        """Block until the call is final, at most `timeout` seconds (then TimeoutError).

        `via="auto"` listens on the websocket and falls back to polling when it cannot be
        opened; "websocket" or "poll" use only that way."""
        if self._done is not None:
            return self._done
        deadline = time.monotonic() + timeout
        view: dict[str, Any] | None = None
        if via != "poll":
            try:
                view = self._listen(deadline)
            except _websocket_failures():
                if via == "websocket":
                    raise
        if view is None:
            view = self._poll(deadline)
        self._done = outcome(view)
        return self._done

    def _listen(self, deadline: float) -> dict[str, Any] | None:
        from websockets.sync.client import connect

        remaining = max(0.1, deadline - time.monotonic())
        with connect(
            self.websocket_address,
            additional_headers=self._auth_headers,
            open_timeout=min(10.0, remaining),
        ) as socket:
            try:
                message = socket.recv(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                return None  # one last look at the status URL
        view: dict[str, Any] = json.loads(message)
        return view

    def _poll(self, deadline: float) -> dict[str, Any]:
        interval = POLL_FIRST_S
        while True:
            view = self.status()
            if is_final(view):
                return view
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.method} {self.request_id} is still {view['status']}")
            time.sleep(min(interval, remaining))
            interval = min(POLL_MAX_S, interval * 1.5)


class AsyncPendingCall(_Pending):
    """What `AsyncGateway.submit` returns; `await wait()` gives the call's Result."""

    def __init__(self, get_view: Callable[[str], Awaitable[dict[str, Any]]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._get_view = get_view

    async def status(self) -> dict[str, Any]:
        return await self._get_view(self.status_url)

    async def wait(self, timeout: float = 60.0, *, via: Via = "auto") -> Result:
        if self._done is not None:
            return self._done
        deadline = time.monotonic() + timeout
        view: dict[str, Any] | None = None
        if via != "poll":
            try:
                view = await self._listen(deadline)
            except _websocket_failures():
                if via == "websocket":
                    raise
        if view is None:
            view = await self._poll(deadline)
        self._done = outcome(view)
        return self._done

    async def _listen(self, deadline: float) -> dict[str, Any] | None:
        from websockets.asyncio.client import connect

        remaining = max(0.1, deadline - time.monotonic())
        async with connect(
            self.websocket_address,
            additional_headers=self._auth_headers,
            open_timeout=min(10.0, remaining),
        ) as socket:
            try:
                message = await asyncio.wait_for(
                    socket.recv(), timeout=max(0.1, deadline - time.monotonic())
                )
            except asyncio.TimeoutError:
                return None
        view: dict[str, Any] = json.loads(message)
        return view

    async def _poll(self, deadline: float) -> dict[str, Any]:
        interval = POLL_FIRST_S
        while True:
            view = await self.status()
            if is_final(view):
                return view
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.method} {self.request_id} is still {view['status']}")
            await asyncio.sleep(min(interval, remaining))
            interval = min(POLL_MAX_S, interval * 1.5)


__all__ = ["AsyncPendingCall", "GatewayError", "PendingCall", "Via"]
