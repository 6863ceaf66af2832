"""The meta-schema and the OpenAPI document say that docs.html_to_pdf answers a PDF."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_meta_schema_names_the_media_type(api, writer, weasyprint_only):
    services = api.get("/api/v1/services/", headers=writer.headers).json()

    (docs,) = [s for s in services if s["slug"] == "docs"]
    (method,) = docs["methods"]
    assert (method["key"], method["media_type"]) == ("docs.html_to_pdf", "application/pdf")
    assert method["response_schema"]["type"] == "string"
    assert method["response_schema"]["contentMediaType"] == "application/pdf"
    request = method["request_schema"]
    assert request["required"] == ["html"]
    assert request["properties"]["page_size"]["enum"] == ["A4", "A3", "A5", "Letter", "Legal"]
    assert request["properties"]["page_size"]["default"] == "A4"
    json_methods = [m for s in services for m in s["methods"] if s["slug"] != "docs"]
    assert json_methods and {m["media_type"] for m in json_methods} == {"application/json"}


def test_openapi_answers_application_pdf_binary(api):
    document = api.get("/api/schema/?format=json").json()

    operation = document["paths"]["/api/v1/services/docs/html_to_pdf/"]["post"]
    ok = operation["responses"]["200"]
    assert ok["content"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    assert {"X-Request-ID", "X-Provider", "X-Price", "Content-Disposition"} <= set(ok["headers"])
    assert "application/problem+json" in operation["responses"]["400"]["content"]
    assert "Idempotency-Key" not in [p["name"] for p in operation["parameters"]]
    assert "DocsHtmlToPdfResponse" not in document["components"]["schemas"]
