"""`gateway_apply`, run in its own process, reaches a running server that has no Redis."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"
TTL_S = 1.0
# The TTL, plus a slow CI machine's time to rebuild a snapshot and answer.
WITHIN_S = TTL_S + 4.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_gateway_env() -> dict[str, str]:
    # No Redis: the embedded run. Cached keys would hold a suspended client for a minute:
    # only the version row can tell the server sooner.
    return {
        "REDIS_URL": "",
        "GATEWAY_SHARED_VERSIONS_TTL_S": str(TTL_S),
        "GATEWAY_AUTH_CACHE_TTL_S": "60",
    }


CONFIG = """
providers:
  - {{slug: sandbox, adapter: currency.sandbox, base_url: "sandbox://rates", timeout_ms: 500,
     enabled: {enabled}}}
plans:
  - slug: standard
    prices: {{currency.latest_rates: "{price}", currency.convert: "0.0100"}}
clients:
  - {{slug: acme, name: Acme, country: DE, plan: standard, credit_limit: "100.0000",
     active: {active}}}
"""


def gateway_apply(
    tmp_path: Path, *, price: str, enabled: str = "true", active: str = "true"
) -> None:
    """Run `manage.py gateway_apply` as ops would: another process, without Redis."""
    path = tmp_path / "gateway.yaml"
    path.write_text(CONFIG.format(price=price, enabled=enabled, active=active))
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "REDIS_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "gateway_apply", str(path)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def settles_on(url: str, headers: dict[str, str], check: Callable[[httpx.Response], bool]) -> float:
    """Seconds until several calls in a row (both server workers) pass `check`."""
    started = time.monotonic()
    answers: list[httpx.Response] = []

    def six_in_a_row() -> bool:
        for _ in range(6):
            answers.append(httpx.post(url, json={"base": "EUR"}, headers=headers, timeout=10))
            if not check(answers[-1]):
                return False
        return True

    def last_answer() -> str:
        return (
            f"last answer {answers[-1].status_code}, X-Price {answers[-1].headers.get('X-Price')}"
        )

    wait_until(six_in_a_row, timeout=WITHIN_S, what="six calls in a row", details=last_answer)
    took = time.monotonic() - started
    assert took < WITHIN_S, f"not within {WITHIN_S} s; {last_answer()}"
    return took


def test_changes_applied_from_the_command_line_reach_the_running_server(
    live_gateway, caller, sandbox_only, tmp_path
):
    url = f"{live_gateway}{LATEST}"
    # given a server routing and pricing with the configuration as it is
    gateway_apply(tmp_path, price="0.0100")
    settles_on(url, caller.headers, lambda r: r.headers.get("X-Price") == "0.0100")

    # when ops change the price from the command line
    gateway_apply(tmp_path, price="0.0200")

    # then the server charges it within the TTL
    settles_on(url, caller.headers, lambda r: r.headers.get("X-Price") == "0.0200")

    # when ops disable the only provider
    gateway_apply(tmp_path, price="0.0200", enabled="false")

    # then the server stops routing to it
    settles_on(url, caller.headers, lambda r: r.status_code != 200)

    # when ops suspend the client
    gateway_apply(tmp_path, price="0.0200", active="false")

    # then its calls are refused, although its key is still in the server's cache
    settles_on(url, caller.headers, lambda r: r.status_code == 403)
