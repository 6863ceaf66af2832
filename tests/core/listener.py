"""A real TCP listener on a loopback address that counts what reaches it."""

from __future__ import annotations

import socket
import threading

OK = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


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
