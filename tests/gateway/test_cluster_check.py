"""`make cluster` refuses, before starting anything, a cluster whose nodes would share no state."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gateway",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
}


def cluster_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
        "GATEWAY_ENV_FILE": "",  # a developer's .env must not decide the outcome
        **SHARED,
        **overrides,
    }
    env.pop("GATEWAY_MQ_URL", None)
    return subprocess.run(
        [sys.executable, "deploy/cluster_check.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ({"DATABASE_URL": "sqlite:///cluster.sqlite3"}, "DATABASE_URL is sqlite3"),
        ({"REDIS_URL": ""}, "REDIS_URL is not set"),
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/1"}, "CELERY_BROKER_URL is not RabbitMQ"),
    ],
)
def test_a_cluster_without_shared_state_is_refused_saying_what_to_set(
    override: dict[str, str], said: str
) -> None:
    result = cluster_check(**override)

    assert result.returncode == 2
    assert said in result.stderr
    assert "refusing to start a cluster without shared state" in result.stderr


def test_postgresql_redis_and_rabbitmq_pass() -> None:
    result = cluster_check()

    assert (result.returncode, result.stderr.count("make cluster:")) == (0, 0), result.stderr
