"""Without Redis, version counters live in the database, read at most once per TTL."""

import pytest
from django.db import transaction

from apps.catalog.models import Provider, SharedVersion
from apps.core import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_redis(settings) -> None:
    settings.REDIS_URL = ""
    state.forget_local_state()


def stored(name: str) -> int:
    return SharedVersion.objects.get(name=name).value


def test_a_catalog_change_bumps_the_row_in_its_own_transaction(no_redis):
    # given
    before = stored("catalog")

    # when a change is rolled back
    with transaction.atomic():
        Provider.objects.get(slug="sandbox").save()
        assert stored("catalog") > before  # bumped inside the change's transaction
        transaction.set_rollback(True)

    # then the row is as it was: no other process rebuilds for a change that never happened
    assert stored("catalog") == before

    # when a change commits (the test's transaction stands in for the commit)
    Provider.objects.get(slug="sandbox").save()

    # then
    assert stored("catalog") > before


def test_another_process_change_is_seen_after_the_ttl_and_not_before(
    no_redis, settings, django_assert_num_queries
):
    # given versions read a moment ago
    settings.GATEWAY_SHARED_VERSIONS_TTL_S = 60
    seen = state.read_versions_sync("catalog", "principals")

    # when another process (gateway_apply) bumps the catalog row
    SharedVersion.objects.filter(name="catalog").update(value=stored("catalog") + 5)

    # then within the TTL this process keeps its versions, without a query per call
    with django_assert_num_queries(0):
        assert state.read_versions_sync("catalog", "principals") == seen

    # and once the TTL is over it reads the new one (one query for every counter)
    settings.GATEWAY_SHARED_VERSIONS_TTL_S = 0
    with django_assert_num_queries(1):
        catalog, principals = state.read_versions_sync("catalog", "principals")
    assert (catalog, principals) == (seen[0] + 5, seen[1])


async def test_the_async_hot_path_reads_the_row_at_most_once_per_ttl(no_redis, settings):
    settings.GATEWAY_SHARED_VERSIONS_TTL_S = 60
    first = await state.read_versions("catalog")
    await SharedVersion.objects.filter(name="catalog").aupdate(value=first[0] + 1)
    assert await state.read_versions("catalog") == first

    settings.GATEWAY_SHARED_VERSIONS_TTL_S = 0
    assert await state.read_versions("catalog") == (first[0] + 1,)


def test_with_redis_the_versions_cost_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        state.bump("catalog")
        assert state.read_versions_sync("catalog") == (1,)
