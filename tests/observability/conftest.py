"""The web process as the Procfile runs it (gunicorn, two uvicorn workers, deploy's config),
tracing into memory, and queues of the test's own on the real RabbitMQ or a hung broker."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.observability import tracing
from gateway_project.celery import app
from tests.support.celery import RABBITMQ_URL
from tests.support.module_fixtures import module_fixture_or
from tests.support.servers import HangingServer, free_port, wait_until_serving

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
    port = free_port()
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


@pytest.fixture
def private_queues(settings) -> Iterator[dict[str, str]]:
    """Celery's queue and the MQ consumer's queues, named for this test only."""
    name = f"test-metrics-{uuid.uuid4().hex}"
    queues = {"celery": f"{name}.celery", "calls": name, "dead": f"{name}.dead"}
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(
        broker_url=RABBITMQ_URL, task_always_eager=False, task_default_queue=queues["celery"]
    )
    settings.GATEWAY_MQ_URL = RABBITMQ_URL
    settings.GATEWAY_MQ_QUEUE = queues["calls"]
    settings.GATEWAY_MQ_DEAD_LETTER_QUEUE = queues["dead"]
    yield queues
    app.conf.update(saved)
    with Connection(RABBITMQ_URL) as connection:
        channel = connection.channel()
        for queue in queues.values():
            channel.queue_delete(queue)


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung broker)."""
    with HangingServer() as server:
        yield server.port
