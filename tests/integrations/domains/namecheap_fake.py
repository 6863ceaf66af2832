"""A fake of Namecheap's one endpoint (respx): answers per Command, keeps what was sent."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qsl

import httpx
import respx

from tests.integrations.domains.namecheap_answers import NAMECHEAP_URL


class FakeNamecheap:
    """`on(command, body)` queues answers for a command (the last one repeats);
    `sent(command)` gives (HTTP method, query, form) of the last request of that command."""

    def __init__(self, router: respx.Router, url: str = NAMECHEAP_URL) -> None:
        self.bodies: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        self.requests: list[httpx.Request] = []
        self.route = router.route(url__startswith=url).mock(side_effect=self._answer)

    def on(self, command: str, *bodies: bytes, status: int = 200) -> FakeNamecheap:
        self.bodies[command].extend((status, body) for body in bodies)
        return self

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        command = self.fields(request)["Command"]
        queued = self.bodies[command]
        if not queued:
            raise AssertionError(f"the test did not expect {command}")
        status, body = queued.pop(0) if len(queued) > 1 else queued[0]
        return httpx.Response(status, content=body, headers={"Content-Type": "text/xml"})

    @staticmethod
    def fields(request: httpx.Request) -> dict[str, str]:
        """The request's parameters, from the query (GET) or the form (POST)."""
        if request.method == "POST":
            return dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        return dict(request.url.params)

    def commands(self) -> list[str]:
        return [self.fields(request)["Command"] for request in self.requests]

    def sent(self, command: str) -> tuple[str, dict[str, str], dict[str, str]]:
        for request in reversed(self.requests):
            if self.fields(request)["Command"] == command:
                form = (
                    dict(parse_qsl(request.content.decode(), keep_blank_values=True))
                    if request.method == "POST"
                    else {}
                )
                return request.method, dict(request.url.params), form
        raise AssertionError(f"{command} was not sent")
