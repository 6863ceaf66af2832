"""What clients generate code from: the meta-schema and the OpenAPI document."""

import jsonschema
import pytest

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
