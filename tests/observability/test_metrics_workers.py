"""One scrape counts the calls of every worker: gunicorn with two uvicorn workers, as the
Procfile runs it (deploy/gunicorn.conf.py), on the real PostgreSQL, Redis and RabbitMQ."""

import os
import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.observability.deploy_files import alert_exprs, dashboard_exprs, metric_names
from tests.observability.scrapes import names, total, value
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"
SERVED = {
    "service": "currency",
    "method": "currency.latest_rates",
    "provider": "sandbox",
    "status": "200",
    "channel": "http",
}
CALLS = 40
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def gunicorn_env() -> dict[str, str]:
    # The MQ consumer's queues on the real RabbitMQ, under names of this test's own.
    name = f"test-metrics-{uuid.uuid4().hex}"
    return {
        "GATEWAY_MQ_URL": RABBITMQ_URL,
        "GATEWAY_MQ_QUEUE": name,
        "GATEWAY_MQ_DEAD_LETTER_QUEUE": f"{name}.dead",
    }


def scrape(url: str) -> str:
    # A new connection each time: whichever worker accepts it answers.
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def counting_pids(metrics_dir: Path) -> set[int]:
    """The workers that wrote counts (prometheus_client: counter_<pid>.db per process)."""
    return {int(p.stem.split("_")[1]) for p in metrics_dir.glob("counter_*.db")}


def call_many(url: str, key: str, n: int) -> list[int]:
    def one(_: int) -> int:
        response = httpx.post(
            f"{url}{LATEST}",
            json={"base": "EUR"},
            headers={"Authorization": f"Api-Key {key}"},
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(n)))


def test_every_scrape_counts_the_calls_of_both_workers(gunicorn_gateway, caller, sandbox_only):
    # given calls spread over both workers (keep calling until both have served some)
    statuses = call_many(gunicorn_gateway.url, caller.key, CALLS)
    while len(counting_pids(gunicorn_gateway.metrics_dir)) < 2 and len(statuses) < 400:
        statuses += call_many(gunicorn_gateway.url, caller.key, 8)
    assert set(statuses) == {200}
    assert len(counting_pids(gunicorn_gateway.metrics_dir)) == 2

    # when scraped several times
    scrapes = [scrape(gunicorn_gateway.url) for _ in range(6)]

    # then each scrape, whichever worker answered it, counts every call
    for text in scrapes:
        assert total(text, "gateway_calls_total", **SERVED) == len(statuses)
        assert total(
            text, "gateway_call_duration_seconds_count", method="currency.latest_rates"
        ) == len(statuses)
        assert total(
            text, "gateway_provider_attempts_total", provider="sandbox", outcome="ok"
        ) == len(statuses)
        assert total(text, "gateway_charged_total", currency="USD") == pytest.approx(
            0.01 * len(statuses)
        )
        assert caller.key not in text


def test_a_worker_that_dies_keeps_its_calls_counted(gunicorn_gateway, caller, sandbox_only):
    # given both workers served calls
    statuses = call_many(gunicorn_gateway.url, caller.key, CALLS)
    while len(counting_pids(gunicorn_gateway.metrics_dir)) < 2 and len(statuses) < 400:
        statuses += call_many(gunicorn_gateway.url, caller.key, 8)
    victim = min(counting_pids(gunicorn_gateway.metrics_dir))

    # when one of them is killed and gunicorn replaces it (child_exit marks it dead)
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: gunicorn_gateway.log.read_text().count("Application startup complete") >= 3,
        timeout=60,
        what="gunicorn to replace the worker",
        interval=0.2,
        details=gunicorn_gateway.log.read_text,
    )
    assert f"Worker (pid:{victim}) was sent SIGKILL" in gunicorn_gateway.log.read_text()

    # then the totals do not fall
    for _ in range(4):
        assert total(scrape(gunicorn_gateway.url), "gateway_calls_total", **SERVED) == len(statuses)


def test_a_real_scrape_passes_promtool_and_has_every_metric_deploy_uses(
    gunicorn_gateway, caller, sandbox_only, promtool
):
    # given a call, so the call path's metrics have samples
    assert call_many(gunicorn_gateway.url, caller.key, 2) == [200, 200]

    # when
    text = scrape(gunicorn_gateway.url)

    # then promtool's lint finds nothing
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # and every metric the alert rules and the dashboard ask for is served
    assert metric_names(alert_exprs() + dashboard_exprs()) <= names(text)
    assert value(text, "gateway_broker_up", broker="mq") == 1
    assert value(text, "gateway_dead_letter_queue_depth") == 0
