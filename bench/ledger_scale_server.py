"""The server side of bench/ledger_scale.py: users and keys, a production server, its SQL.

The gateway runs as in production (gunicorn + uvicorn workers, DEBUG off) from a code tree
(--code: this checkout, or an older one for a "before" figure), against the scale database.
Its settings add one thing: every SQL statement is logged with its duration to a file
(Django's `django.db.backends` logger, which DEBUG off silences unless a connection forces
its debug cursor), so the bench can EXPLAIN the statements of a read that missed its target.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SETTINGS = """
from gateway_project.settings import *  # noqa: F403

from django.db.backends.signals import connection_created


def _log_sql(sender, connection, **kwargs):
    connection.force_debug_cursor = True


connection_created.connect(_log_sql)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"sql": {"format": "%(duration).4f\\x1f%(sql)s\\x1e"}},
    "handlers": {
        "sql": {"class": "logging.FileHandler", "filename": SQL_LOG, "formatter": "sql"},
        "console": {"class": "logging.StreamHandler", "level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django.db.backends": {"handlers": ["sql"], "level": "DEBUG", "propagate": False}},
}
"""

# Run in the code tree with `manage.py shell`: users, token, keys and the reads' parameters.
SETUP = """
import json
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.db.models import Count
from apps.accounts.models import Client, ClientApiKey
from apps.ledger.models import LedgerEntry
from apps.ledger.staff_tokens import staff_token_create

finance, _ = User.objects.get_or_create(username="bench-finance", defaults={"is_staff": True})
finance.groups.add(Group.objects.get(name="finance"))
admin, _ = User.objects.get_or_create(username="bench-admin")
admin.is_staff = admin.is_superuser = True
admin.set_password(PASSWORD)
admin.save()
_, token = staff_token_create(user=finance, ttl=timedelta(days=1))
big = Client.objects.get(slug=PREFIX + "-big-00")
tiny = Client.objects.get(slug=PREFIX + "-tiny-000")
mid = Client.objects.get(slug=PREFIX + "-mid-0000")
keys = {}
for client in (big, tiny):
    _, keys[client.slug] = ClientApiKey.objects.create_key(client=client, name="bench")
key = ClientApiKey.objects.filter(client=big, name="generated-1").first()
row = LedgerEntry.objects.filter(client=mid, kind="charge").order_by("id").first()
print("BENCH-SETUP " + json.dumps({
    "token": token, "password": PASSWORD, "big": big.slug, "tiny": tiny.slug, "mid": mid.slug,
    "big_key": keys[big.slug], "tiny_key": keys[tiny.slug], "api_key": key.prefix,
    "request_id": row.request_id, "provider": row.provider or "fixer", "service": row.service,
    "method": row.method,
}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The gateway in production mode on a free port; `stop()` ends it and its workers."""

    def __init__(self, *, code: Path, env: dict[str, str], workers: int) -> None:
        self.code, self.workers = code, workers
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-scale-"))
        self.sql_log = self.dir / "sql.log"
        (self.dir / "ledger_scale_settings.py").write_text(
            f"SQL_LOG = {str(self.sql_log)!r}\n" + SETTINGS
        )
        self.env = {
            **os.environ,
            **env,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GATEWAY_ENV_FILE": "",
            # TLS ends at the proxy in front in production; here the bench talks plain HTTP.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "PYTHONPATH": f"{self.dir}:{code}",
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(self.code / ".venv/bin/python"), "manage.py", *args],
            cwd=self.code,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "gateway_project.settings"},
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def setup(self, prefix: str) -> dict[str, Any]:
        script = f"PREFIX = {prefix!r}\nPASSWORD = 'bench-{os.urandom(6).hex()}'\n" + SETUP
        out = self.manage("shell", stdin=script)
        line = next(line for line in out.splitlines() if line.startswith("BENCH-SETUP "))
        return dict(json.loads(line.removeprefix("BENCH-SETUP ")))

    def start(self) -> None:
        log = (self.dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(self.code / ".venv/bin/gunicorn"),
                "gateway_project.asgi:application",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "600",
            ],
            cwd=self.code,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "ledger_scale_settings"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(300):
            try:
                httpx.get(self.url + "/api/v1/ledger/", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start; see {self.dir / 'server.log'}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def peak_rss_mb(self) -> float:
        """The largest peak resident set size (VmHWM) of the workers, in MB."""
        peaks = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            found = re.search(r"VmHWM:\s+(\d+) kB", status)
            peaks.append(int(found.group(1)) / 1024 if found else 0.0)
        return max(peaks, default=0.0)

    def sql_mark(self) -> int:
        return self.sql_log.stat().st_size if self.sql_log.exists() else 0

    def sql_since(self, mark: int) -> list[tuple[float, str]]:
        """The (seconds, SQL) statements logged since `mark`."""
        if not self.sql_log.exists():
            return []
        with self.sql_log.open("rb") as log:
            log.seek(mark)
            text = log.read().decode(errors="replace")
        statements = []
        for record in text.split("\x1e"):
            duration, _, sql = record.strip().partition("\x1f")
            if sql:
                statements.append((float(duration), sql))
        return statements

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def explain(database_url: str, sql: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one logged SELECT, run in a transaction rolled back."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()  # type: ignore[arg-type]
        conn.rollback()
    return "\n".join(row[0] for row in rows)
