"""State shared through Redis: weights across OS processes, Redis round trips per call, and
serving on when Redis goes away."""

import json
import logging
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from django.conf import settings

from apps.core import state
from apps.ledger.models import LedgerEntry
from apps.routing import breakers
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.routing import FIXER_URL, configure, post, sandbox_catalog, set_policy

ROOT = Path(__file__).resolve().parents[2]


def run_workers(*calls: int) -> list[dict[str, int]]:
    """Run one weighted_worker process per entry at the same time, sharing the test's Redis."""
    env = {"REDIS_URL": settings.REDIS_URL, "PATH": "/usr/bin:/bin"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.routing.weighted_worker", str(n)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in calls
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_weights_are_honoured_across_two_processes_sharing_redis():
    # when two OS processes route 5,000 calls each at the same time (weights 5:3:2)
    first, second = run_workers(5000, 5000)

    # then together each provider got its weight's share, within 2 percentage points
    total = {slug: first[slug] + second[slug] for slug in first}
    assert sum(total.values()) == 10_000
    for slug, weight in {"alpha": 5, "beta": 3, "gamma": 2}.items():
        assert abs(total[slug] / 10_000 - weight / 10) <= 0.02, total


def test_the_rotation_is_one_sequence_for_all_processes():
    # given processes that each route a single call, one after the other (a per-process
    # counter would send every one of them to the heaviest provider)
    picks = [run_workers(1)[0] for _ in range(3)]

    # then they continue one shared sequence (weights 5:3:2: alpha, beta, gamma, alpha...)
    assert [next(slug for slug, n in p.items() if n) for p in picks] == ["alpha", "beta", "gamma"]


def test_a_served_call_costs_one_redis_round_trip_before_its_attempt_and_one_after(
    api, caller, db, redis_round_trips
):
    # given a warm gateway (snapshot built, scripts loaded) with three providers by priority
    sandbox_catalog({"alpha": {"priority": 1}, "beta": {"priority": 2}, "gamma": {}})
    post(api, caller)
    redis_round_trips.clear()

    # when
    for _ in range(5):
        assert post(api, caller).status_code == 200

    # then before the attempt one pipeline read the versions with the three breakers, and
    # after it one script recorded the attempt: nothing else, whatever the candidates
    versions_and_breakers = ("MGET", "HMGET", "HMGET", "HMGET")
    assert redis_round_trips == [versions_and_breakers, ("EVALSHA",)] * 5


def test_a_weighted_method_also_steps_the_shared_rotation(api, caller, db, redis_round_trips):
    # given a warm gateway whose method is routed by weight
    sandbox_catalog({"alpha": {"weight": 3}, "beta": {"weight": 1}})
    set_policy("latest_rates", strategy="weighted")
    post(api, caller)
    redis_round_trips.clear()

    # when
    assert post(api, caller).status_code == 200

    # then the rotation's script runs between the read and the record
    assert redis_round_trips == [("MGET", "HMGET", "HMGET"), ("EVALSHA",), ("EVALSHA",)]


@pytest.fixture
def redis_goes_away(settings, monkeypatch):
    """Point shared state at a port where nothing listens, as if Redis had stopped."""

    def stop() -> None:
        settings.REDIS_URL = "redis://127.0.0.1:1/0"
        monkeypatch.setattr(state, "_async_clients", weakref.WeakKeyDictionary())
        monkeypatch.setattr(state, "_sync_client", None)

    return stop


def test_calls_are_still_served_when_redis_stops_mid_test(
    api, caller, two_providers, vendors, clock, redis_goes_away, caplog
):
    # given fixer's breaker opens on its first fault
    configure("fixer", breaker_failures=1)
    fixer = vendors.get(f"{FIXER_URL}/latest").respond(json=FIXER_LATEST)
    assert post(api, caller)["X-Provider"] == "fixer"

    # when Redis goes away
    redis_goes_away()
    with caplog.at_level(logging.WARNING, logger="apps.core.state"):
        served = post(api, caller)

    # then the call is served all the same, and the fallback is logged
    assert (served.status_code, served["X-Provider"]) == (200, "fixer")
    assert "Redis unreachable" in caplog.text

    # and this process's own breakers still work: fixer fails once, then is skipped
    fixer.respond(status_code=500)
    assert post(api, caller)["X-Provider"] == "openexchangerates"
    assert post(api, caller)["X-Provider"] == "openexchangerates"
    assert fixer.call_count == 3
    assert LedgerEntry.objects.order_by("-id").first().routing["skipped"] == [
        {"provider": "fixer", "reason": "circuit_open"}
    ]

    # and readiness says the gateway is degraded, not down
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache"] is False


def test_weights_fall_back_to_this_process_when_redis_is_unreachable(
    api, caller, db, redis_goes_away
):
    sandbox_catalog({"alpha": {"weight": 3}, "beta": {"weight": 1}})
    set_policy("latest_rates", strategy="weighted")
    redis_goes_away()

    served = [post(api, caller)["X-Provider"] for _ in range(8)]

    assert served.count("alpha") == 6 and served.count("beta") == 2
    assert breakers.memory.hashes  # served from this process's own rotation
