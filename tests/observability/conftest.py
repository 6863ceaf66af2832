"""The web process as the Procfile runs it: gunicorn, two uvicorn workers, deploy's config."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.observability import tracing
from tests.support.module_fixtures import module_fixture_or
from tests.support.servers import wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for one test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()
    provider.shutdown()


@dataclass(frozen=True)
class Server:
    url: str
    metrics_dir: Path
    log: Path


@pytest.fixture
def gunicorn_gateway(
    transactional_db: None, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """gunicorn as deploy/ runs it; with extra environment from a `gunicorn_env` fixture (a
    dict) where the test's module defines one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    metrics_dir = tmp_path / "prometheus"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **module_fixture_or(request, "gunicorn_env", {}),
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "gateway_project.asgi:application",
                "-c",
                "deploy/gunicorn.conf.py",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, log, deadline=time.monotonic() + 40, what="gunicorn")
        yield Server(url, metrics_dir, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        print(log.read_text())


@pytest.fixture
def promtool() -> str:
    """Debian's promtool (package prometheus), which .ci/run installs: a test that needs it
    fails without it rather than passing unchecked."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: .ci/run installs it (apt-get install prometheus).")
    return path
