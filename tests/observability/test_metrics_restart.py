"""A server started on a PROMETHEUS_MULTIPROC_DIR that a previous run left full counts from
zero (deploy/gunicorn.conf.py empties it); a bad METRICS_ALLOWED_NETWORKS stops the start."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.observability.scrapes import total

ROOT = Path(__file__).resolve().parents[2]
LATEST = "/api/v1/services/currency/latest_rates/"


@pytest.fixture
def gunicorn_env(tmp_path: Path) -> dict[str, str]:
    # given a previous server's worker counted 1000 calls into the directory and died
    stale = tmp_path / "prometheus"
    stale.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from prometheus_client import Counter\n"
            "c = Counter('gateway_calls', '', ['service', 'method', 'provider', 'status',"
            " 'channel'])\n"
            "c.labels('currency', 'currency.latest_rates', 'sandbox', '200', 'http').inc(1000)",
        ],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(stale)},
        check=True,
    )
    assert list(stale.glob("counter_*.db"))
    return {}


def test_a_restarted_server_does_not_count_the_last_runs_calls(
    gunicorn_gateway, caller, sandbox_only
):
    # when the new server serves 3 calls
    for _ in range(3):
        response = httpx.post(
            f"{gunicorn_gateway.url}{LATEST}",
            json={"base": "EUR"},
            headers={"Authorization": f"Api-Key {caller.key}"},
            timeout=30,
        )
        assert response.status_code == 200

    # then it counts those 3, not the 1003
    text = httpx.get(f"{gunicorn_gateway.url}/metrics", timeout=10).text
    assert total(text, "gateway_calls_total", method="currency.latest_rates") == 3


def test_a_network_that_is_no_cidr_stops_the_start():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
        "GATEWAY_ENV_FILE": "",
        "DEBUG": "true",
        "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,not-a-network",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_NETWORKS" in result.stderr
