"""The call endpoint, end to end through the real pipeline, with the offline sandbox provider."""

import json
from decimal import Decimal

import pytest

from apps.accounts.models import Client
from apps.catalog.models import Method, Provider
from apps.ledger.models import LedgerEntry
from tests import factories
from tests.support.calls import jwt_for

LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"

pytestmark = pytest.mark.django_db


def post(api, url, body, headers, **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.post(url, payload, content_type="application/json", headers=headers, **extra)


def test_a_call_returns_the_envelope_and_headers(api, caller, sandbox_only):
    # given a client with a price for latest_rates and the sandbox provider enabled
    # when it asks for two rates
    response = post(api, LATEST, {"base": "EUR", "symbols": ["USD", "GBP"]}, caller.headers)

    # then it gets the normalised answer, who served it and what it cost
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "succeeded"
    assert (body["service"], body["method"]) == ("currency", "latest_rates")
    assert body["data"]["base"] == "EUR"
    assert set(body["data"]["rates"]) == {"USD", "GBP"}
    assert response["X-Provider"] == "sandbox"
    assert response["X-Price"] == "0.0100"
    assert response["X-Request-ID"] == body["request_id"]


def test_the_clients_request_id_is_kept(api, caller, sandbox_only):
    response = post(api, LATEST, {}, {**caller.headers, "X-Request-ID": "order-42.retry-1"})

    assert response["X-Request-ID"] == "order-42.retry-1"
    assert response.json()["request_id"] == "order-42.retry-1"
    assert LedgerEntry.objects.get().request_id == "order-42.retry-1"


def test_each_call_writes_one_ledger_row_and_charges_the_price(api, caller, sandbox_only):
    # given
    sandbox_only.offerings.update(cost=Decimal("0.0020"))
    from apps.catalog.services import catalog_cache_invalidate

    catalog_cache_invalidate()

    # when
    response = post(
        api,
        CONVERT,
        {"from": "USD", "to": "EUR", "amount": "10.50"},
        caller.headers,
        REMOTE_ADDR="203.0.113.9",
    )

    # then
    assert response.status_code == 200
    entry = LedgerEntry.objects.get()
    assert entry.request_id == response.json()["request_id"]
    assert (entry.client, entry.api_key.prefix) == (caller.client, caller.key.split(".")[0])
    assert (entry.service, entry.method, entry.provider) == ("currency", "convert", "sandbox")
    assert entry.status == LedgerEntry.Status.SUCCEEDED
    assert entry.http_status == 200
    assert entry.cost == Decimal("0.0020")
    assert entry.price == Decimal("0.0100")
    assert entry.margin == Decimal("0.0080")
    assert entry.currency == "USD"
    assert entry.channel == "http"
    assert entry.source_ip == "203.0.113.9"
    assert entry.country == "DE"
    assert entry.attempts[0]["provider"] == "sandbox"
    assert entry.attempts[0]["outcome"] == "ok"
    assert entry.routing["strategy"] == "priority"
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("-0.0100")


def test_the_price_does_not_depend_on_the_provider(api, caller, sandbox_only):
    # given a second provider (same offline adapter) that costs us more
    method = factories.method("currency.latest_rates")
    dear = factories.OfferingFactory(
        provider=factories.ProviderFactory(slug="dear-rates"),
        method=method,
        priority=2,
        cost=Decimal("0.0090"),
    )

    # when the first serves one call, and the second serves the next
    post(api, LATEST, {}, caller.headers)
    sandbox_only.enabled = False
    sandbox_only.save()
    response = post(api, LATEST, {}, caller.headers)

    # then the cost follows the provider and the price does not
    assert response["X-Provider"] == dear.provider.slug
    rows = list(LedgerEntry.objects.order_by("id").values_list("provider", "cost", "price"))
    assert rows == [
        ("sandbox", Decimal("0.0010"), Decimal("0.0100")),
        ("dear-rates", Decimal("0.0090"), Decimal("0.0100")),
    ]


def test_the_steady_state_call_costs_two_statements(
    api, caller, sandbox_only, django_assert_num_queries
):
    # given a warm process (key and catalog cached)
    post(api, LATEST, {"base": "EUR"}, caller.headers)

    # when / then: the credit hold (one statement: reserve the price and write the hold
    # row) and the settle (one statement: the ledger row, its day's rollup, the hold
    # dropped and the balance moved), nothing else
    with django_assert_num_queries(2) as queries:
        response = post(api, LATEST, {"base": "EUR"}, caller.headers)
    assert response.status_code == 200
    hold, settle = (" ".join(q["sql"].split()) for q in queries.captured_queries)
    assert hold.startswith("WITH reserved AS ( UPDATE")
    assert settle.startswith("WITH entry AS (INSERT INTO")
    assert "ON CONFLICT" in settle and "DELETE FROM" in settle and "UPDATE" in settle


def test_a_change_in_the_catalog_is_seen_by_the_next_call(api, caller, sandbox_only):
    # given a call that cached the catalog
    assert post(api, LATEST, {}, caller.headers).status_code == 200

    # when ops disable the method
    method = factories.method("currency.latest_rates")
    method.enabled = False
    method.save()

    # then the very next call no longer finds it
    assert post(api, LATEST, {}, caller.headers).status_code == 404


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Api-Key nope.nothing"},
        {"X-API-Key": "abc"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Api-Key"},
    ],
    ids=["missing", "unknown", "garbage", "wrong-scheme", "empty"],
)
def test_calls_without_a_valid_key_are_401(api, caller, sandbox_only, headers):
    response = post(api, LATEST, {}, headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401
    assert problem["type"] == "/problems/not-authenticated"
    assert problem["request_id"] == response["X-Request-ID"]
    assert not LedgerEntry.objects.exists()


def test_x_api_key_header_is_accepted(api, caller, sandbox_only):
    assert post(api, LATEST, {}, {"X-API-Key": caller.key}).status_code == 200


def test_a_revoked_key_is_refused_at_once(api, caller, sandbox_only):
    # given a key that worked (and is now cached)
    assert post(api, LATEST, {}, caller.headers).status_code == 200

    # when it is revoked
    key = caller.client.api_keys.get()
    key.revoked = True
    key.save()

    # then the next call is refused
    response = post(api, LATEST, {}, caller.headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_an_expired_key_is_refused(api, caller, sandbox_only):
    from datetime import timedelta

    from django.utils import timezone

    caller.client.api_keys.update(expiry_date=timezone.now() - timedelta(minutes=1))

    response = post(api, LATEST, {}, caller.headers)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_suspended_client_is_403(api, caller, sandbox_only):
    Client.objects.filter(pk=caller.client.pk).update(is_active=False)
    caller.client.refresh_from_db()
    caller.client.save()  # a save through the model reaches every process's cache

    response = post(api, LATEST, {}, caller.headers)

    assert response.status_code == 403
    assert "suspended" in response.json()["detail"]


# --- internal JWT callers -------------------------------------------------------------------


def test_an_internal_service_calls_with_a_jwt_for_a_client(api, caller, sandbox_only, settings):
    # given a token for acme from an internal service, for an end customer in France
    token = jwt_for("acme", settings)

    # when
    response = post(
        api, LATEST, {}, {"Authorization": f"Bearer {token}", "X-Requester-Country": "FR"}
    )

    # then acme is charged and the call is routed and recorded for France
    assert response.status_code == 200
    entry = LedgerEntry.objects.get()
    assert (entry.client, entry.api_key, entry.country) == (caller.client, None, "FR")


def test_a_client_key_cannot_claim_another_country(api, caller, sandbox_only):
    post(api, LATEST, {}, {**caller.headers, "X-Requester-Country": "US"})

    assert LedgerEntry.objects.get().country == "DE"


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"exp": 1}, "expired"),
        ({"entity_id": "nobody"}, "Unknown client"),
    ],
)
def test_bad_jwts_are_401(api, caller, sandbox_only, settings, claims, reason):
    token = jwt_for(claims.pop("entity_id", "acme"), settings, **claims)

    response = post(api, LATEST, {}, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert reason in response.json()["detail"]


def test_a_jwt_without_exp_or_with_a_wrong_signature_is_401(api, caller, sandbox_only, settings):
    import jwt

    no_exp = jwt.encode({"entity_id": "acme"}, settings.INTERNAL_GATEWAY_KEY, algorithm="HS256")
    forged = jwt_for("acme", settings).rsplit(".", 1)[0] + ".c2lnbmF0dXJl"

    garbage = "not.a.jwt"
    for token, detail in (
        (no_exp, "The token lacks a required claim (exp, entity_id)."),
        (forged, "The token's signature does not verify."),
        (garbage, "The token is not a valid JWT."),
    ):
        response = post(api, LATEST, {}, {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        # Our own words: PyJWT's text ("Signature verification failed") never reaches a client.
        assert response.json()["detail"] == detail


# --- bad requests ---------------------------------------------------------------------------


def test_unknown_service_method_and_route_are_404_problems(api, caller, sandbox_only):
    for url in (
        "/api/v1/services/weather/today/",
        "/api/v1/services/currency/rates/",
        "/api/v1/nothing-here/",
    ):
        response = post(api, url, {}, caller.headers)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["request_id"]


def test_a_disabled_method_is_404_and_recorded_as_rejected(api, caller, sandbox_only):
    Method.objects.filter(slug="convert").update(enabled=False)
    from apps.catalog.services import catalog_cache_invalidate

    catalog_cache_invalidate()

    response = post(api, CONVERT, {"from": "USD", "to": "EUR", "amount": "1"}, caller.headers)

    assert response.status_code == 404
    entry = LedgerEntry.objects.get()
    assert (entry.status, entry.http_status, entry.price) == ("rejected", 404, Decimal("0"))


def test_a_body_that_is_not_json_is_400(api, caller, sandbox_only):
    response = post(api, LATEST, "{base: EUR", caller.headers)

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_a_payload_that_is_not_an_object_is_400(api, caller, sandbox_only):
    response = post(api, LATEST, "[1, 2]", caller.headers)

    assert response.status_code == 400
    assert "errors" in response.json()


def test_validation_errors_name_the_field(api, caller, sandbox_only):
    # when
    response = post(api, CONVERT, {"from": "usd", "amount": "-3", "symbols": "x"}, caller.headers)

    # then every bad field is named, and nothing was charged
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"from", "to", "amount", "symbols"}
    assert "ISO 4217" in errors["from"][0]
    assert errors["symbols"] == ["Unknown field."]
    assert LedgerEntry.objects.get().status == "rejected"
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("0")


def test_nested_validation_errors_name_the_item(api, caller, sandbox_only):
    response = post(api, LATEST, {"symbols": ["USD", "pounds"]}, caller.headers)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["symbols.1"]


def test_a_body_over_the_limit_is_413(api, caller, sandbox_only, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 1024

    response = post(api, LATEST, {"symbols": ["USD"] * 400}, caller.headers)

    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"


def test_get_on_a_method_is_405(api, caller, sandbox_only):
    response = api.get(LATEST, headers=caller.headers)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- plans and credit -----------------------------------------------------------------------


def test_a_method_outside_the_plan_is_403(api, caller, sandbox_only):
    caller.client.plan.prices.filter(method__slug="convert").delete()

    response = post(api, CONVERT, {"from": "USD", "to": "EUR", "amount": "1"}, caller.headers)

    assert response.status_code == 403
    assert "does not include currency.convert" in response.json()["detail"]


def test_a_call_past_the_credit_limit_is_402_and_not_charged(api, caller, sandbox_only):
    # given a client with 0.0150 of credit left and a price of 0.0100
    caller.client.credit_limit = Decimal("0.0150")
    caller.client.save()

    # when it calls twice
    first = post(api, LATEST, {}, caller.headers)
    second = post(api, LATEST, {}, caller.headers)

    # then the second is refused and nothing beyond the limit was spent
    assert (first.status_code, second.status_code) == (200, 402)
    assert second.json()["type"] == "/problems/credit-limit-exceeded"
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("-0.0100")
    rows = list(LedgerEntry.objects.order_by("id").values_list("status", "price"))
    assert rows == [("succeeded", Decimal("0.0100")), ("rejected", Decimal("0"))]


def test_no_enabled_provider_is_503(api, caller, sandbox_only):
    sandbox_only.enabled = False
    sandbox_only.save()

    response = post(api, LATEST, {}, caller.headers)

    assert response.status_code == 503
    assert response.json()["type"] == "/problems/no-provider-available"
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("0")
    assert LedgerEntry.objects.get().status == "failed"


def test_provider_rows_never_hold_plain_secrets(sandbox_only):
    from django.db import connection

    # given
    provider = Provider.objects.get(slug="sandbox")
    provider.credentials = {"access_key": "s3cr3t-value"}
    provider.save()

    # when
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM catalog_provider WHERE id = %s", [provider.pk])
        (raw,) = cursor.fetchone()

    # then the column holds a Fernet token, and the model reads the secret back
    assert "s3cr3t" not in raw
    assert raw.startswith("gAAAA")
    assert Provider.objects.get(pk=provider.pk).credentials == {"access_key": "s3cr3t-value"}


def test_a_methods_on_recorded_hook_runs_with_its_ledger_row(api, caller, sandbox_only):
    from apps.catalog.registry import registry

    # given a method that keeps state about its calls
    seen = []
    spec = registry.method("currency.latest_rates")
    spec.on_recorded = lambda entry, data: seen.append((entry.pk, data["base"]))
    try:
        # when
        response = post(api, LATEST, {"base": "GBP"}, caller.headers)
    finally:
        spec.on_recorded = None

    # then it ran once, with the committed row and the normalised answer
    assert response.status_code == 200
    assert seen == [(LedgerEntry.objects.get().pk, "GBP")]
