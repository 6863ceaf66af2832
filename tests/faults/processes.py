"""The gateway's own processes, run as production runs them, and a fake vendor on loopback.

`Deployment` is one gateway installation on the private services: its environment (DEBUG
off, fresh secrets), `manage.py` commands, the gunicorn server of the Procfile, Celery
worker and beat, and the ledger check every fault test ends with.
"""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.fernet import Fernet

from tests.faults.services import stop_group
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.servers import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CALL_PATH = "/api/v1/services/currency/latest_rates/"
# What a fault test's client may spend, and its price per call.
CREDIT_LIMIT = Decimal("100.00")
PRICE = Decimal("0.0100")


@dataclass(frozen=True)
class Caller:
    """The fault suite's client: slug, API key and the headers to call with."""

    slug: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.key}"}

    def call(
        self,
        gateway: "Gateway",
        payload: dict[str, Any] | None = None,
        *,
        timeout: float = 15,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return httpx.post(
            f"{gateway.url}{CALL_PATH}",
            json=payload or {"base": "EUR", "symbols": ["USD"]},
            headers={**self.headers, **(headers or {})},
            timeout=timeout,
        )


class FakeFixer:
    """fixer.io's GET /latest and /symbols on 127.0.0.1, in fixer's documented format.

    `delay_s` holds each answer that long (float("inf"): never answer until `release()`);
    `hits` counts the requests that reached the vendor.
    """

    def __init__(self) -> None:
        self.hits = 0
        self.delay_s = 0.0
        self._release = threading.Event()
        self._arrived = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.hits += 1
                fake._arrived.set()
                if fake.delay_s:
                    fake._release.wait(None if fake.delay_s == float("inf") else fake.delay_s)
                path = self.path.split("?")[0]
                if path.endswith("/symbols"):
                    body: dict[str, Any] = {"success": True, "symbols": {"EUR": "Euro"}}
                else:
                    body = FIXER_LATEST
                data = orjson.dumps(body)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the gateway gave up on us

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hang(self) -> None:
        self.delay_s = float("inf")
        self._release.clear()
        self._arrived.clear()

    def answer_normally(self) -> None:
        self.delay_s = 0.0
        self._release.set()

    def wait_for_request(self, timeout: float = 10) -> None:
        if not self._arrived.wait(timeout):
            raise TimeoutError("no request reached the fake vendor")

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()


class Deployment:
    """One gateway installation on private services; `env` is what every process gets."""

    def __init__(self, *, database_url: str, redis_url: str, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.env: dict[str, str] = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
            "GATEWAY_ENV_FILE": "",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The fake vendors listen on loopback, which the egress policy refuses otherwise.
            "GATEWAY_EGRESS_ALLOW_PRIVATE": "true",
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": "4",
            "LOG_LEVEL": "WARNING",
        }
        self.env.pop("CELERY_BROKER_URL", None)
        self.env.pop("PYTEST_XDIST_WORKER", None)

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if check and result.returncode:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
            )
        return result

    def apply(self, yaml_text: str) -> None:
        path = self.log_dir / f"apply-{time.monotonic_ns()}.yaml"
        path.write_text(yaml_text)
        self.manage("gateway_apply", str(path))

    def ledger_check(self) -> str:
        """Every balance = Σ its ledger rows and no credit hold left at all (hold age 0:
        call it once no call is in flight). Returns the command's report; fails the test
        with it otherwise."""
        result = self.manage("ledger_check", "--hold-age", "0", check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def spawn(
        self, name: str, args: list[str], extra_env: dict[str, str] | None = None
    ) -> "Process":
        return Process(name, args, {**self.env, **(extra_env or {})}, self.log_dir)

    def gateway(self, extra_env: dict[str, str] | None = None) -> "Gateway":
        return Gateway(self, extra_env or {})

    def celery_worker(self, extra_env: dict[str, str] | None = None) -> "Process":
        return self.spawn(
            "celery-worker",
            [
                str(BIN / "celery"),
                "-A",
                "gateway_project",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            extra_env,
        )

    def celery_beat(self, extra_env: dict[str, str] | None = None) -> "Process":
        return self.spawn(
            "celery-beat",
            [
                str(BIN / "celery"),
                "-A",
                "gateway_project",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.log_dir / f"beat-{time.monotonic_ns()}"),
            ],
            extra_env,
        )


class Process:
    """A gateway process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[int]:
        """The pids of this process's direct children (gunicorn's or Celery's workers)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def kill(self) -> None:
        """SIGKILL the whole process group: no handler runs, nothing is acknowledged."""
        stop_group(self.process, signal.SIGKILL)

    def stop(self) -> None:
        stop_group(self.process, signal.SIGTERM)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 30) -> None:
        wait_until(
            lambda: text in self.output(),
            timeout=timeout,
            what=f"{self.name} to print {text!r}",
            interval=0.2,
            unless=lambda: self.process.poll() is not None,
            details=self.output,
        )


class Gateway(Process):
    """The Procfile's web process: gunicorn with two uvicorn workers, DEBUG off."""

    def __init__(self, deployment: Deployment, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "gateway_project.asgi:application",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                "2",
                "--reuse-port",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "5",
            ],
            {**deployment.env, **extra_env},
            deployment.log_dir,
        )
        self.wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200)

    def wait_until(self, ready: Callable[[], bool], timeout: float = 40) -> None:
        """Until `ready()` (a connection refused counts as not yet); fails with the server's
        output if it exits first."""
        wait_until(
            ready,
            timeout=timeout,
            what="the gateway to be ready",
            interval=0.2,
            ignoring=(httpx.TransportError,),
            unless=lambda: self.process.poll() is not None,
            details=self.output,
        )
