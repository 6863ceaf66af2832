"""Version counters when Redis goes away and comes back."""

from collections.abc import Callable

import pytest

from apps.core import state


@pytest.fixture
def redis_outage(settings, monkeypatch) -> Callable[[], None]:
    """Call it to make Redis unreachable for this process; the fixture restores it after."""
    real_url = settings.REDIS_URL

    def stop() -> None:
        settings.REDIS_URL = "redis://127.0.0.1:1/0"
        monkeypatch.setattr(state, "_sync_client", None)

    yield stop
    settings.REDIS_URL = real_url
    state._sync_client = None
    state.forget_redis_failure()


def test_an_outage_keeps_the_last_versions_seen(redis_outage):
    # given versions read from Redis
    state.bump("catalog")
    state.bump("catalog")
    assert state.read_versions_sync("catalog", "principals") == (2, 0)

    # when Redis becomes unreachable
    redis_outage()

    # then the last versions seen stand in, so caches are not rebuilt on every call
    assert state.read_versions_sync("catalog", "principals") == (2, 0)
    assert state.redis_degraded()


def test_a_change_made_during_an_outage_is_seen_here_and_replayed_to_redis(redis_outage, settings):
    # given a version read before the outage
    assert state.read_versions_sync("catalog") == (0,)
    real_url = settings.REDIS_URL
    redis_outage()

    # when ops change the catalog from this process during the outage
    state.bump("catalog")

    # then this process sees its change at once
    assert state.read_versions_sync("catalog") == (1,)

    # and once Redis answers again, every other process learns of it too
    settings.REDIS_URL = real_url
    state._sync_client = None
    state.forget_redis_failure()
    state.read_versions_sync("catalog")
    assert int(state.sync_client().get("gw:catalog")) == 1
