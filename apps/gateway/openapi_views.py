"""The OpenAPI of the Django views (everything but the method calls): component names that do
not collide, and the problem+json answers each operation can give.

The fuzzer (tests/gateway/test_fuzz.py) holds every answer to the document, so an answer the
code gives on purpose must be listed here.
"""

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.ledger.params import LedgerCursor

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

# What each status means on an operation that is not a method call.
_VIEW_ERRORS = {
    "400": "A query parameter or the body is invalid; `errors` names the fields.",
    "401": "Missing, unknown, revoked or expired key or token.",
    "403": "The key's client is suspended, or the user may not read this.",
    "404": "Nothing with this id is visible to the caller.",
    "413": "The body is larger than the configured limit.",
}

# Answers that are not the JSON renderer's: a streamed CSV.
_MEDIA_TYPES = {"/api/v1/ledger/export.csv": "text/csv"}
# APIViews that page their rows with a cursor: drf-spectacular sees only the rows' list.
_CURSOR_PAGED = ("/api/v1/ledger/", "/api/v1/usage/")


class GatewayAutoSchema(AutoSchema):
    """Names a nested `OutputSerializer` after its API (`LedgerSummaryOutput`): with the
    default name every API's `Output` was one component, and all but one described wrongly."""

    def get_serializer_name(
        self, serializer: serializers.Serializer, direction: Literal["request", "response"]
    ) -> str:
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if not outer or "<locals>" in outer:
            return super().get_serializer_name(serializer, direction)
        return outer.split(".")[-1].removesuffix("Api") + inner


class InstantFieldSchema(OpenApiSerializerFieldExtension):
    """The finance and usage APIs' `created_after`/`created_before`: a date or a date-time.

    Registered by being imported (this module is DEFAULT_SCHEMA_CLASS's); named by path, so
    that the document's code does not import the ledger's."""

    target_class = "apps.ledger.params.InstantField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            "type": "string",
            "anyOf": [{"format": "date"}, {"format": "date-time"}],
            "description": "A date (midnight in the accounting time zone) or an ISO 8601 "
            "date-time.",
        }


def _statuses(path: str, operation: dict[str, Any]) -> list[str]:
    statuses = []
    parameters = operation.get("parameters", [])
    if operation.get("requestBody") or any(p.get("in") == "query" for p in parameters):
        statuses.append("400")
    if operation.get("security") != [] and operation.get("security") is not None:
        statuses += ["401", "403"]
    if "{" in path:
        statuses.append("404")
    if path.startswith("/api/v1/webhooks/"):
        # No key: each vendor signs. A body read as sent may be too large or not JSON.
        statuses += ["400", "401", "413"]
    return statuses


def _document_cursor_page(operation: dict[str, Any]) -> None:
    """The rows' list becomes the cursor page ({next, previous, results}); `cursor` and
    `page_size` join the query parameters."""
    paginator = LedgerCursor()
    content = operation["responses"]["200"]["content"]["application/json"]
    content["schema"] = paginator.get_paginated_response_schema(content["schema"])
    known = {p["name"] for p in operation.get("parameters", [])}
    for parameter in paginator.get_schema_operation_parameters(APIView()):
        if parameter["name"] == paginator.page_size_query_param:
            parameter["schema"].update(minimum=1, maximum=paginator.max_page_size)
        if parameter["name"] not in known:
            operation.setdefault("parameters", []).append(parameter)


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation of a Django view lists the
    problem+json answers it can give, and any answer documented without a body gets one."""
    for path, item in result.get("paths", {}).items():
        if path.startswith("/api/v1/services/") and path != "/api/v1/services/":
            continue  # the method calls: apps.gateway.openapi documents them
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if path in _MEDIA_TYPES:
                responses["200"]["content"] = {_MEDIA_TYPES[path]: {"schema": {"type": "string"}}}
            if path in _CURSOR_PAGED:
                _document_cursor_page(operation)
            for parameter in operation.get("parameters", []):
                # DRF reads an empty optional query value (`?created_after=`) as absent.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            for status in _statuses(path, operation):
                responses.setdefault(status, {"description": _VIEW_ERRORS[status]})
            for status, response in responses.items():
                if int(status) >= 400 and "content" not in response:
                    response["content"] = _PROBLEM
    return result
