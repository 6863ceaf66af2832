"""LOG_FORMAT=json: one JSON object per line, each with the call's request id, one access
record per call, and no credential anywhere; plain text stays the default."""

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.core.log_context import call_logged, call_noted
from apps.core.logging import JsonFormatter, RequestIdFilter, SecretMaskFilter
from apps.core.redaction import known_secrets_set
from tests.support.vendors import FIXER_SECRET as SECRET
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
LATEST = "/api/v1/services/currency/latest_rates/"
ACCESS_FIELDS = {"status", "duration_ms", "service", "method", "provider", "client", "price"}


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def live_gateway_env() -> dict[str, str]:
    return {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("egress_private")
def test_a_call_logs_json_lines_with_its_request_id_and_one_access_record(
    caller, failing_fixer_then_sandbox, live_gateway, tmp_path
):
    # given a gateway started with LOG_FORMAT=json, fixer failing and the sandbox behind it
    # when a client calls it with its own request id
    answer = httpx.post(
        f"{live_gateway}{LATEST}",
        json={"base": "EUR", "symbols": ["USD"]},
        headers={**caller.headers, "X-Request-ID": "order-4711"},
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    assert failing_fixer_then_sandbox.received  # fixer was asked, and failed

    # then every line the server wrote is a JSON object
    lines = _wait_for_lines(tmp_path / "uvicorn.log", "gateway.access")
    assert all(isinstance(line, dict) for line in lines)

    # and the call's one access record has its outcome, and no key, credential or payload
    [access] = [line for line in lines if line["logger"] == "gateway.access"]
    assert access.keys() >= ACCESS_FIELDS
    assert access["request_id"] == "order-4711"
    assert (access["status"], access["service"], access["method"]) == (
        200,
        "currency",
        "latest_rates",
    )
    assert (access["provider"], access["client"], access["channel"]) == ("sandbox", "acme", "http")
    assert Decimal(access["price"]) == Decimal("0.0100") and isinstance(access["price"], str)
    assert access["duration_ms"] > 0
    assert access["level"] == "INFO" and access["time"]

    # and the provider's failure is logged under the same request id
    [failure] = [line for line in lines if "provider fixer failed" in line["message"]]
    assert failure["request_id"] == "order-4711"
    assert failure["level"] == "WARNING"

    # and nothing shows the client's key, the provider's credential or the payload
    text = (tmp_path / "uvicorn.log").read_text()
    assert caller.key not in text
    assert SECRET not in text
    assert '"symbols"' not in text


@pytest.mark.django_db(transaction=True)
def test_a_refused_call_gets_an_access_record_without_a_client(live_gateway, tmp_path):
    # given a gateway started with LOG_FORMAT=json
    # when a call comes without credentials
    answer = httpx.post(f"{live_gateway}{LATEST}", json={"base": "EUR"}, timeout=15)

    # then its access record has its status and request id, and null where nothing is known
    assert answer.status_code == 401
    lines = _wait_for_lines(tmp_path / "uvicorn.log", "gateway.access")
    [access] = [line for line in lines if line["logger"] == "gateway.access"]
    assert access["request_id"] == answer.headers["X-Request-ID"]
    assert (access["status"], access["client"], access["price"]) == (401, None, None)


def _wait_for_lines(log: Path, logger: str) -> list[dict[str, Any]]:
    """The log's lines, once one of them is from `logger`."""

    def lines_with_logger() -> list[dict[str, Any]] | None:
        lines = json_lines(log.read_text())
        return lines if any(line.get("logger") == logger for line in lines) else None

    return wait_until(lines_with_logger, timeout=10, what=f"a line of {logger}", interval=0.1)


def _log_of_a_process(**env: str) -> str:
    """What one Django process logs (a warning, outside any call) on its stderr."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('gateway.test').warning('hello %s', 'world')"
    )
    inherited = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_plain_text_is_the_default_and_json_is_chosen_by_log_format():
    # given no LOG_FORMAT: one line of text, "-" for the request id outside a call
    plain = _log_of_a_process()
    assert plain.strip().endswith(" WARNING gateway.test [-] hello world")
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain.splitlines()[-1])

    # when LOG_FORMAT=json: one object a line, request_id null outside a call
    lines = json_lines(_log_of_a_process(LOG_FORMAT="json"))
    [line] = [line for line in lines if line["logger"] == "gateway.test"]
    assert (line["message"], line["level"], line["logger"]) == (
        "hello world",
        "WARNING",
        "gateway.test",
    )
    assert line["request_id"] is None


def test_an_unknown_log_format_stops_the_process():
    script = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test"}
        | {"LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json" in result.stderr


@pytest.fixture
def json_handler() -> Iterator[io.StringIO]:
    """A handler as LOGGING makes it with LOG_FORMAT=json, on a logger of its own."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretMaskFilter())
    logger = logging.getLogger("gateway.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    known_secrets_set([SECRET])
    yield written
    known_secrets_set([])
    logger.removeHandler(handler)
    logger.propagate = True


def test_credentials_are_masked_in_messages_tracebacks_and_extra_fields(json_handler):
    # given a configured credential
    logger = logging.getLogger("gateway.test.json")

    # when a record carries it in its message, its exception and its extra fields
    try:
        raise RuntimeError(f"GET https://fixer.test/latest?access_key={SECRET}")
    except RuntimeError:
        logger.exception(
            "calling %s failed",
            f"https://fixer.test/latest?access_key={SECRET}",
            extra={"url": f"?access_key={SECRET}", "sent": {"params": [SECRET]}},
        )

    # then the JSON line shows where it was, never what it is
    [line] = json_lines(json_handler.getvalue())
    assert SECRET not in json_handler.getvalue()
    assert line["message"] == "calling https://fixer.test/latest?access_key=[redacted] failed"
    assert "RuntimeError" in line["exc_info"] and "[redacted]" in line["exc_info"]
    assert line["url"] == "?access_key=[redacted]"
    assert line["sent"] == {"params": ["[redacted]"]}


def test_records_inside_a_call_carry_its_request_id_and_outside_null(json_handler):
    logger = logging.getLogger("gateway.test.json")

    # when one record is written inside a call and one after it
    with call_logged("req-1", channel="mq"):
        logger.warning("inside")
    logger.warning("outside")

    # then the first carries the call's request id, the second null
    inside, outside = json_lines(json_handler.getvalue())
    assert (inside["message"], inside["request_id"]) == ("inside", "req-1")
    assert (outside["message"], outside["request_id"]) == ("outside", None)


def test_the_access_record_takes_the_outcome_noted_by_the_pipeline(caplog):
    # given a call whose ledger row is noted, and which escapes with an exception
    caplog.set_level(logging.INFO, logger="gateway.access")
    with pytest.raises(RuntimeError), call_logged("req-2", channel="http"):
        call_noted(
            {"service": "currency", "method": "convert", "provider": "", "price": Decimal("0")},
            client="acme",
        )
        raise RuntimeError("boom")

    # then its access record is a 500 with what was known, the price a decimal string
    [record] = caplog.records
    assert (record.status, record.client, record.price) == (500, "acme", "0.0000")
    assert record.provider is None  # "" in the ledger: the cache, or no provider


def test_the_servers_own_handlers_write_json_too():
    # given uvicorn's access logger with its own handler, as uvicorn sets it up
    from apps.core.access_log import install_server_log_format

    logger = logging.getLogger("uvicorn.access")
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    # as a server sets it up (an earlier test's server config may have quietened it)
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False
    try:
        # when the plain format is chosen, it is left alone; with json, it writes JSON
        install_server_log_format("plain")
        assert not isinstance(handler.formatter, JsonFormatter)
        install_server_log_format("json")
        with call_logged("req-3", channel="http"):
            logger.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "POST", "/x/", "1.1", 200)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
        logging.captureWarnings(False)

    # then the server's access line is one JSON object with the call's request id
    [line] = json_lines(written.getvalue())
    assert line["message"] == '1.2.3.4:5 - "POST /x/ HTTP/1.1" 200'
    assert (line["logger"], line["request_id"]) == ("uvicorn.access", "req-3")
