"""The statements each hot path costs, pinned: a replayed call, a cache hit and a call's
status. (A served call's two statements: test_call_api.py.)

On the Django connection, where these tests' calls run (GATEWAY_DB_ASYNC is off for a test
whose rows are not committed: tests/conftest.py), so django_assert_num_queries sees every
statement the path sends.
"""

import json
from typing import Any

import pytest

from apps.catalog.models import RoutingPolicy

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db


def post(api: Any, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return api.post(LATEST, json.dumps(body), content_type="application/json", headers=headers)


def statements(queries: Any) -> list[str]:
    return [" ".join(query["sql"].split()) for query in queries.captured_queries]


def test_a_replayed_call_reads_its_stored_answer_in_one_statement_after_claiming_the_key(
    api, caller, sandbox_only, django_assert_num_queries
):
    # given a call made with an Idempotency-Key
    headers = {**caller.headers, "Idempotency-Key": "order-1001"}
    assert post(api, {"base": "EUR"}, headers).status_code == 200

    # when it is retried, then: the claim of the key (an INSERT in a savepoint, refused by
    # the stored key) and the read of the stored answer; no hold, no settle
    with django_assert_num_queries(5) as queries:
        replay = post(api, {"base": "EUR"}, headers)
    assert replay["Idempotent-Replayed"] == "true"
    savepoint, claim, rollback, release, read = statements(queries)
    assert savepoint.startswith("SAVEPOINT")
    assert claim.startswith('INSERT INTO "billing_idempotencykey"')
    assert rollback.startswith("ROLLBACK TO SAVEPOINT") and release.startswith("RELEASE")
    assert read.startswith('SELECT "billing_idempotencykey"')


def test_a_cache_hit_costs_the_hold_and_the_settle_only(
    api, caller, sandbox_only, django_assert_num_queries
):
    # given a method cached for a minute, and an answer in the cache
    policy = RoutingPolicy.objects.get(method__slug="latest_rates")
    policy.cache_ttl_s = 60
    policy.save()
    assert post(api, {"base": "EUR"}, caller.headers)["X-Cache"] == "MISS"

    # when the same call is made again, then: the credit hold and the settle (the hit is
    # charged and recorded like any call), nothing else
    with django_assert_num_queries(2) as queries:
        hit = post(api, {"base": "EUR"}, caller.headers)
    assert hit["X-Cache"] == "HIT"
    hold, settle = statements(queries)
    assert hold.startswith("WITH reserved AS ( UPDATE")
    assert settle.startswith("WITH entry AS (INSERT INTO")


def test_a_background_calls_status_is_the_key_and_the_record(
    api, caller, sandbox_only, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given a background call that has finished (the embedded run: eager Celery)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = post(api, {"base": "EUR"}, {**caller.headers, "Prefer": "respond-async"})
    status_url = accepted.json()["status_url"]

    # when its client asks for its status, then: the API key and the call's record
    with django_assert_num_queries(2) as queries:
        status = api.get(status_url, headers=caller.headers)
    assert status.json()["status"] == "succeeded"
    key, record = statements(queries)
    assert key.startswith('SELECT "accounts_clientapikey"')
    assert record.startswith('SELECT "realtime_asynccall"')


def test_a_synchronous_calls_status_reads_its_ledger_row_once(
    api, caller, sandbox_only, django_assert_num_queries
):
    # given a call answered synchronously
    answered = post(api, {"base": "EUR"}, {**caller.headers, "X-Request-ID": "sync-42"})
    assert answered.status_code == 200

    # when its client asks for it, then: the key, no background record, its ledger row
    with django_assert_num_queries(3) as queries:
        status = api.get("/api/v1/requests/sync-42/", headers=caller.headers)
    assert status.json()["status"] == "succeeded"
    assert statements(queries)[2].startswith('SELECT "ledger_ledgerentry"')
