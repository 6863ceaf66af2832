"""The signed `?token=` of status_url and websocket_url never reaches the servers' logs."""

import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from apps.core.access_log import QueryTokenFilter
from tests.support.servers import free_port, wait_until_serving
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJyIjoiMTIzIn0:1tXyZa:SeCrEtSiGnAtUrE"  # shaped like apps.realtime.tokens' tokens


SERVERS = {
    # make run's server, with its access log on (the default)
    "uvicorn": ["-m", "uvicorn", "gateway_project.asgi:application", "--log-level=info"],
    # the Procfile's, with gunicorn's access log configured
    "gunicorn": [
        "-m",
        "gunicorn",
        "gateway_project.asgi:application",
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        "1",
        "--access-logfile",
        "-",
        "--log-level",
        "info",
    ],
}


@pytest.fixture(params=sorted(SERVERS))
def server_log(request: pytest.FixtureRequest, db: None, tmp_path: Path) -> Iterator[tuple]:
    """A real server of the ASGI application; yields (base URL, path of its log)."""
    port = free_port()
    bind = (
        [f"--bind=127.0.0.1:{port}"]
        if request.param == "gunicorn"
        else ["--host=127.0.0.1", f"--port={port}"]
    )
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, *SERVERS[request.param], *bind],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"127.0.0.1:{port}"
    try:
        wait_until_serving(f"http://{base_url}", server, log, deadline=time.monotonic() + 30)
        yield base_url, log
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_status_and_websocket_urls_are_logged_without_their_token(server_log):
    # given a running server
    base_url, log = server_log

    # when a client follows a 202's status_url and websocket_url
    httpx.get(f"http://{base_url}/api/v1/requests/123/?token={TOKEN}", timeout=10)
    try:
        with connect(f"ws://{base_url}/ws/requests/123/?token={TOKEN}", open_timeout=10) as ws:
            ws.recv(timeout=5)
    except (InvalidStatus, TimeoutError, OSError):
        pass  # refused or silent: either way the handshake was logged

    # then its log shows both paths, each with the token's value replaced
    def both_paths_logged() -> str | None:
        text = log.read_text()
        paths = ("/api/v1/requests/123/?token=[redacted]", "/ws/requests/123/?token=[redacted]")
        return text if all(path in text for path in paths) else None

    text = wait_until(both_paths_logged, timeout=10, what="both paths in the server's log")
    assert "SeCrEtSiGnAtUrE" not in text


def test_every_token_parameter_is_redacted_and_the_rest_kept():
    # given an access record as uvicorn makes it (path with query string as an argument)
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/x/?a=1&token={TOKEN}&b=2", "1.1", 200),
        None,
    )

    # when the filter passes it
    assert QueryTokenFilter().filter(record)

    # then only the token's value is gone
    assert record.getMessage() == '1.2.3.4:5 - "GET /x/?a=1&token=[redacted]&b=2 HTTP/1.1" 200'


def test_a_client_key_pasted_into_a_url_keeps_only_its_prefix():
    # given the admin's ledger search with a whole client key in its query string
    key = "AbCd1234." + "s3cr3t" * 5 + "xy"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/admin/ledger/ledgerentry/?q={key}", "1.1", 200),
        None,
    )

    # when the filter passes it
    assert QueryTokenFilter().filter(record)

    # then the prefix says which key; the secret is gone
    assert "s3cr3t" not in record.getMessage()
    assert "/admin/ledger/ledgerentry/?q=AbCd1234.[redacted]" in record.getMessage()


def test_the_servers_own_loggers_mask_configured_credentials_too():
    # given a configured credential, and uvicorn's error logger as uvicorn sets it up: its own
    # handler, not propagating to LOGGING's (whose handler masks)
    from apps.core.access_log import install_query_token_filter
    from apps.core.redaction import known_secrets_set

    known_secrets_set(["fixer-access-key-123"])
    logger = logging.getLogger("uvicorn.error")
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    install_query_token_filter()

    # when uvicorn logs an exception whose text carries it
    try:
        try:
            raise RuntimeError("GET https://fixer.test/latest?access_key=fixer-access-key-123")
        except RuntimeError:
            logger.exception("Exception in ASGI application")
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        known_secrets_set([])

    # then neither the message nor the traceback shows it
    assert "Exception in ASGI application" in written.getvalue()
    assert "RuntimeError" in written.getvalue()
    assert "fixer-access-key-123" not in written.getvalue()
