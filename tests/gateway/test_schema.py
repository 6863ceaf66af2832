"""What clients generate code from: the meta-schema and the OpenAPI document."""

import jsonschema
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_meta_schema_lists_each_method_with_its_json_schemas(api, caller):
    # when
    response = api.get("/api/v1/services/", headers=caller.headers)

    # then
    assert response.status_code == 200
    currency = {s["slug"]: s for s in response.json()}["currency"]
    methods = {m["name"]: m for m in currency["methods"]}
    assert set(methods) >= {"latest_rates", "convert"}
    convert = methods["convert"]
    assert convert["path"] == "/api/v1/services/currency/convert/"
    assert set(convert["request_schema"]["required"]) == {"from", "to", "amount"}
    assert convert["request_schema"]["additionalProperties"] is False
    # the schemas are real JSON Schemas that accept the contract's examples
    jsonschema.validate({"from": "USD", "to": "EUR", "amount": "10.50"}, convert["request_schema"])
    jsonschema.validate(
        {
            "from": "USD",
            "to": "EUR",
            "amount": "10.50",
            "rate": 0.92,
            "result": "9.67",
            "date": "2026-11-29",
        },
        convert["response_schema"],
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"from": "usd", "to": "EUR", "amount": "1"}, convert["request_schema"])


def test_the_meta_schema_needs_a_key(api):
    response = api.get("/api/v1/services/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_disabled_method_leaves_the_meta_schema(api, caller):
    from tests.factories import method

    convert = method("currency.convert")
    convert.enabled = False
    convert.save()

    response = api.get("/api/v1/services/", headers=caller.headers)

    names = [m["name"] for s in response.json() for m in s["methods"]]
    assert "convert" not in names


def test_openapi_documents_each_method_with_its_own_schemas(api):
    # when
    response = api.get("/api/schema/?format=json")

    # then
    assert response.status_code == 200
    document = response.json()
    operation = document["paths"]["/api/v1/services/currency/latest_rates/"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert request_ref == "#/components/schemas/CurrencyLatestRatesRequest"
    assert {"200", "400", "401", "402", "404", "422", "502", "503", "504"} <= set(
        operation["responses"]
    )
    schemas = document["components"]["schemas"]
    assert "symbols" in schemas["CurrencyLatestRatesRequest"]["properties"]
    assert "rates" in schemas["CurrencyLatestRatesResponse"]["properties"]
    assert "/api/v1/services/{service}/{method}/" not in document["paths"]


def test_swagger_ui_is_served_without_a_cdn(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg.com" not in html and "jsdelivr" not in html


def test_health_and_readiness(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "cache": True, "broker": True}


def test_a_post_to_an_unknown_api_path_is_a_problem_404_not_a_csrf_page():
    # given a client that enforces CSRF as a real request meets it (no session, no token)
    api = Client(enforce_csrf_checks=True)

    # when it posts to a path that does not exist
    response = api.post("/api/v1/no-such-thing/", data=b"{}", content_type="application/json")

    # then it gets the 404 problem, not Django's HTML CSRF page (403)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_each_apis_output_is_its_own_component(api):
    # when
    document = api.get("/api/schema/?format=json").json()

    # then the usage rows, the ledger rows and a call's status are described each by its own
    # serializer (they all were `Output`, the ledger row's)
    schemas = document["components"]["schemas"]
    assert "Output" not in schemas
    usage = document["paths"]["/api/v1/usage/"]["get"]["responses"]["200"]
    page = usage["content"]["application/json"]["schema"]
    assert page["properties"]["results"]["items"]["$ref"].endswith("/UsageOutput")
    status = document["paths"]["/api/v1/requests/{request_id}/"]["get"]["responses"]["200"]
    status_ref = status["content"]["application/json"]["schema"]["$ref"]
    assert status_ref == "#/components/schemas/RequestDetailOutput"
    assert {"runs", "http_status", "result"} <= set(schemas["RequestDetailOutput"]["properties"])


def test_the_finance_and_usage_operations_document_their_real_answers(api):
    # when
    paths = api.get("/api/schema/?format=json").json()["paths"]

    # then the ledger list is its cursor page, the export is CSV, the dates are dates
    ledger = paths["/api/v1/ledger/"]["get"]
    page = ledger["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"next", "previous", "results"} <= set(page["properties"])
    usage = paths["/api/v1/usage/"]["get"]
    usage_page = usage["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"next", "previous", "results"} <= set(usage_page["properties"])
    assert {"cursor", "page_size"} <= {p["name"] for p in usage["parameters"]}
    export = paths["/api/v1/ledger/export.csv"]["get"]["responses"]["200"]
    assert list(export["content"]) == ["text/csv"]
    created_after = next(p for p in ledger["parameters"] if p["name"] == "created_after")
    assert {"format": "date"} in created_after["schema"]["anyOf"]
    assert created_after["allowEmptyValue"] is True  # DRF reads `?created_after=` as absent
    # and every refusal is a documented problem+json
    for path, statuses in {
        "/api/v1/ledger/": {"400", "401", "403"},
        "/api/v1/usage/": {"400", "401", "403"},
        "/api/v1/services/": {"401", "403"},
        "/api/v1/requests/{request_id}/": {"401", "403", "404"},
    }.items():
        responses = paths[path]["get"]["responses"]
        assert statuses <= set(responses), path
        for status in statuses:
            assert list(responses[status]["content"]) == ["application/problem+json"]
    webhook = paths["/api/v1/webhooks/{provider}/"]["post"]["responses"]
    assert webhook["401"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
