"""Local servers the tests start or stand up: waiting until a gateway subprocess serves, a
listener that records what reaches it, one that accepts and never answers, and free or
refused loopback ports."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

OK = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    """A loopback port nothing listens on (for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused_url(scheme: str = "http") -> str:
    """A local port with nothing listening: the connection is refused."""
    return f"{scheme}://127.0.0.1:{free_port()}"


def wait_until_serving(
    url: str, process: subprocess.Popen, log: Path, *, deadline: float, what: str = "the gateway"
) -> None:
    """Until GET {url}/healthz answers 200; fails with the server's log if the process ends
    or time.monotonic() passes `deadline` first."""
    wait_until(
        lambda: httpx.get(f"{url}/healthz", timeout=1).status_code == 200,
        timeout=deadline - time.monotonic(),
        what=f"{what} to start",
        interval=0.1,
        ignoring=(httpx.TransportError,),
        unless=lambda: process.poll() is not None,
        details=log.read_text,
    )


class Listener:
    """Accepts connections on `host`, keeps the first bytes of each and answers `answer`."""

    def __init__(self, host: str = "127.0.0.1", answer: bytes = OK) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.server = socket.create_server((host, 0), family=family)
        self.server.settimeout(0.1)
        self.port: int = self.server.getsockname()[1]
        self.answer = answer
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                self._handle(connection)

    def _handle(self, connection: socket.socket) -> None:
        """Read one request, record it and send the answer (subclasses answer otherwise)."""
        connection.settimeout(2)
        try:
            self.received.append(_read_request(connection))
            connection.sendall(self.answer)
        except OSError:
            self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


def _read_request(connection: socket.socket) -> bytes:
    """The request's head and as much of its body as its Content-Length says."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class HangingServer:
    """Accepts connections and never answers (a hung vendor or broker)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def _accept(self) -> None:
        self.server.settimeout(0.1)
        while not self.stop.is_set():
            try:
                self.held.append(self.server.accept()[0])
            except OSError:
                continue

    def __enter__(self) -> HangingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.server.close()
