"""The processes of one bench/faults.py run: a PostgreSQL cluster and a Redis of its own on
free ports (tests/faults/services.py), the local fixer-format upstream, and the gateway under
the Procfile's command. `close()` stops all of them, whatever state the run left them in."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from bench.fault_load import CALL_PATH, PAYLOAD
from bench.fault_procs import children
from tests.faults.services import (
    PrivatePostgres,
    PrivateRedis,
    free_port,
    stop_group,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class Stack:
    """Private PostgreSQL and Redis, the upstream and the gateway; `close()` stops them all."""

    def __init__(self, log_dir: Path, workers: int) -> None:
        self.log_dir, self.workers = log_dir, workers
        self.postgres: PrivatePostgres | None = None
        self.redis: PrivateRedis | None = None
        self.processes: list[subprocess.Popen[bytes]] = []
        self.gateway: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = ""
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.postgres = PrivatePostgres("gateway_bench")  # cpuacct.py's name for the bench db
        self.postgres.start()
        self.postgres.create_database()
        self.redis = PrivateRedis()
        self.redis.start()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GATEWAY_ENV_FILE": "",  # never a developer's .env
            "GATEWAY_EGRESS_ALLOW_PRIVATE": "true",  # the upstream listens on loopback
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL"):
            self.env.pop(name, None)  # the Procfile's defaults; no broker: settles in-process
        upstream_port = free_port()
        self.spawn("upstream", [sys.executable, "bench/upstream.py", "--port", str(upstream_port)])
        wait_for_port(upstream_port, timeout=30, alive=self.processes[-1])
        self.manage("migrate", "--noinput")
        catalog = (ROOT / "bench/bench.yaml").read_text()
        catalog = catalog.replace("@UPSTREAM@", f"http://127.0.0.1:{upstream_port}")
        (self.log_dir / "bench.yaml").write_text(catalog)
        self.manage("gateway_apply", str(self.log_dir / "bench.yaml"))
        self.api_key = self.manage("create_api_key", "bench", "--name", "bench").strip()
        self.gateway = self.spawn(
            "gateway",
            [
                str(BIN / "gunicorn"),
                "gateway_project.asgi:application",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                str(self.workers),
                "--reuse-port",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
        )
        self._wait_until_served()

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        self.processes.append(process)
        return process

    def manage(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
        return result.stdout  # create_api_key: the key alone; notices go to stderr

    def _wait_until_served(self) -> None:
        headers = {"Authorization": f"Api-Key {self.api_key}", "X-Request-ID": "probe-ready"}
        deadline, last = time.monotonic() + 60, "no answer"
        while time.monotonic() < deadline:
            assert self.gateway is not None and self.gateway.poll() is None, "gateway exited"
            try:
                answer = httpx.post(self.url + CALL_PATH, json=PAYLOAD, headers=headers)
                if answer.status_code == 200 and answer.headers.get("x-provider") == "fixer":
                    return
                last = f"{answer.status_code} {answer.text[:300]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise RuntimeError(f"the gateway never served a call ({last}); see {self.log_dir}")

    def workers_pids(self) -> list[int]:
        return children(self.gateway.pid) if self.gateway else []

    def roots(self) -> set[int]:
        """The processes whose trees are this run's (for the shared-machine CPU figure)."""
        roots = {os.getpid(), *(process.pid for process in self.processes)}
        if self.redis and self.redis.process:
            roots.add(self.redis.process.pid)
        if self.postgres and (pidfile := self.postgres.data / "postmaster.pid").exists():
            roots.add(int(pidfile.read_text().split()[0]))
        return roots

    def dump_stacks(self, label: str) -> None:
        """py-spy dump of every worker (all threads), into the log directory."""
        for pid in self.workers_pids():
            with (self.log_dir / f"stacks-{label}-{pid}.txt").open("w") as out:
                subprocess.run(
                    [os.environ.get("PY_SPY", str(BIN / "py-spy")), "dump", "--pid", str(pid)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                    timeout=60,
                )

    def holds_left(self) -> int:
        assert self.postgres is not None
        return int(self.postgres.query("SELECT count(*) FROM billing_credithold")[0][0])  # type: ignore[call-overload]

    def close(self) -> None:
        if self.postgres is not None and self.postgres.log.exists():
            shutil.copy(self.postgres.log, self.log_dir / "postgres.log")  # why it stopped
        for process in reversed(self.processes):
            stop_group(process)
        for stop in (self.redis and self.redis.stop, self.postgres and self.postgres.destroy):
            if stop:
                try:
                    stop()
                except Exception as exc:  # keep stopping the rest
                    print(f"cleanup: {exc}", file=sys.stderr)
