"""Servers the tests start: waiting until a gateway subprocess serves, and a listener that
accepts connections and never answers (a hung vendor or broker)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx


def wait_until_serving(
    url: str, process: subprocess.Popen, log: Path, *, deadline: float, what: str = "the gateway"
) -> None:
    """Until GET {url}/healthz answers 200; RuntimeError with the server's log if the process
    ends or time.monotonic() passes `deadline` first."""
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text()}")
        time.sleep(0.1)


class HangingServer:
    """Accepts connections and never answers."""

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
