"""Servers the tests start as subprocesses: waiting until one serves."""

import subprocess
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
