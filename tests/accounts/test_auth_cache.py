"""A revoked key or a suspended client reaches every server process, even without Redis:
the per-process auth cache expires after GATEWAY_AUTH_CACHE_TTL_S."""

from pathlib import Path

import httpx
import pytest
from django.core import checks
from django.test import override_settings

from apps.accounts.models import ClientApiKey
from apps.core.deployment import server_worker_count
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"
TTL_S = 1.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_gateway_env() -> dict[str, str]:
    # Two uvicorn workers and no Redis: a change made here reaches them through nothing but
    # their own cache expiry.
    return {"REDIS_URL": "", "GATEWAY_AUTH_CACHE_TTL_S": str(TTL_S)}


def statuses(base_url: str, headers: dict[str, str], calls: int = 12) -> set[int]:
    """The statuses of `calls` calls, each on a new connection (so both workers answer)."""
    return {
        httpx.post(base_url + LATEST, json={"base": "EUR"}, headers=headers, timeout=30).status_code
        for _ in range(calls)
    }


def test_a_key_revoked_elsewhere_is_refused_by_every_worker_after_the_ttl(
    live_gateway, caller, sandbox_only
):
    # given both workers have served (and cached) the key
    assert statuses(live_gateway, caller.headers) == {200}

    # when the key is revoked by another process (here: the test's ORM, as the admin does)
    key = ClientApiKey.objects.get(client=caller.client)
    key.revoked = True
    key.save()

    # then, once the TTL has passed, no worker accepts it any more
    wait_until(
        lambda: statuses(live_gateway, caller.headers) == {401},
        timeout=TTL_S + 0.5,
        what="every worker to refuse the revoked key",
    )


def test_a_client_suspended_elsewhere_is_refused_by_every_worker_after_the_ttl(
    live_gateway, caller, sandbox_only
):
    # given both workers have served (and cached) the client's key
    assert statuses(live_gateway, caller.headers) == {200}

    # when the client is suspended by another process
    caller.client.is_active = False
    caller.client.save()

    # then, once the TTL has passed, every worker refuses it
    wait_until(
        lambda: statuses(live_gateway, caller.headers) == {403},
        timeout=TTL_S + 0.5,
        what="every worker to refuse the suspended client",
    )


def test_workers_without_redis_warn_in_the_server_log_at_start(
    live_gateway, tmp_path: Path, sandbox_only
):
    # given the gateway started with two workers, DEBUG off and no REDIS_URL (the fixture)

    # when its log is read, once both workers have started (the fixture waits for the first
    # to answer; the second may still be starting)
    def log_of_both() -> str | None:
        log = (tmp_path / "uvicorn.log").read_text()
        return log if log.count("2 server workers without REDIS_URL") >= 2 else None

    log = wait_until(log_of_both, timeout=20, what="both workers' warnings", interval=0.2)

    # then each worker said that it shares nothing with the other
    assert log.count("2 server workers without REDIS_URL") == 2
    assert "Set REDIS_URL." in log


@pytest.mark.parametrize(
    ("argv", "environ", "workers"),
    [
        (["gunicorn", "app", "-k", "uvicorn_worker.UvicornWorker", "-w", "4"], {}, 4),
        (["gunicorn", "app", "--workers=3"], {}, 3),
        (["gunicorn", "app", "-w8"], {}, 8),
        (["uvicorn", "app", "--workers", "2"], {"WEB_CONCURRENCY": "6"}, 2),
        (["gunicorn", "app"], {"WEB_CONCURRENCY": "6"}, 6),
        (["uvicorn", "app"], {}, 1),
    ],
)
def test_the_worker_count_is_read_from_the_servers_command_line_or_web_concurrency(
    argv: list[str], environ: dict[str, str], workers: int
):
    assert server_worker_count(argv, environ) == workers


@pytest.mark.parametrize(
    ("redis_url", "debug", "warned"),
    [("", False, True), ("redis://127.0.0.1:6379/0", False, False), ("", True, False)],
)
def test_the_system_check_warns_of_several_workers_without_redis_in_production(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, debug: bool, warned: bool
):
    # given a deployment of 4 web workers
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    monkeypatch.setattr("sys.argv", ["manage.py", "check"])

    # when the system checks run
    with override_settings(REDIS_URL=redis_url, DEBUG=debug):
        messages = checks.run_checks()

    # then only production without Redis is warned
    assert [m.id for m in messages if m.id == "gateway.W001"] == (
        ["gateway.W001"] if warned else []
    )
