"""Adds one OpenAPI path per method (its own request and response) to drf-spectacular's doc.

A method's examples are declared beside its serializers (`extend_schema_serializer(examples=
[OpenApiExample(...)])`, request_only on the request's, response_only on the answer's); each
answer's example is shown inside the JSON envelope. tests/gateway/test_openapi.py holds
every example to the method's own validator.
"""

import copy
from typing import Any

from drf_spectacular.drainage import get_override
from drf_spectacular.plumbing import ComponentRegistry, build_examples_list
from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from apps.catalog.registry import MethodSpec, registry
from apps.gateway.schemas import openapi_schema

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_ERRORS = {
    "400": "The payload does not match the method's schema, or is not JSON.",
    "401": "Missing, unknown, revoked or expired API key.",
    "402": "The client's credit limit would be exceeded.",
    "403": "The plan may not call this method, or the client is suspended.",
    "404": "Unknown or disabled service or method.",
    "409": "The first call with this Idempotency-Key is still running.",
    "413": "The body is larger than the configured limit.",
    "422": "A provider rejected the input as invalid, or the Idempotency-Key was used with "
    "another payload.",
    "429": "Rate limit or quota exceeded.",
    "502": "Every candidate provider failed; `attempts` lists them.",
    "503": "No provider is available.",
    "504": "The call's total deadline passed.",
}

# Headers of the billing steps (docs/billing.md), on the success answer.
_MONEY_HEADERS = {
    "X-Cache": {
        "schema": {"type": "string", "enum": ["HIT", "MISS"]},
        "description": "Methods with a response cache only.",
    },
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "The stored answer of an earlier call with this Idempotency-Key.",
    },
    **{
        name: {"schema": {"type": "integer"}, "description": f"{what} (rate-limited clients)."}
        for name, what in (
            ("X-RateLimit-Limit", "The limit of the window closest to running out"),
            ("X-RateLimit-Remaining", "Calls left in that window"),
            ("X-RateLimit-Reset", "Seconds until that window starts over"),
        )
    },
}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An error, as application/problem+json (RFC 9457).",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "attempts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "provider": {"type": "string"},
                    "outcome": {"type": "string"},
                    "latency_ms": {"type": "integer"},
                    "error": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status", "detail", "request_id"],
}


def _component_name(method_key: str, suffix: str) -> str:
    return "".join(part.title() for part in method_key.replace(".", "_").split("_")) + suffix


def add_method_paths(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    security = components.setdefault("securitySchemes", {})
    security["ApiKeyAuth"] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Api-Key <key>` (or send the key alone in `X-API-Key`).",
    }
    security["InternalJWT"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    schemas["Problem"] = PROBLEM_SCHEMA
    nested = ComponentRegistry()
    paths = result.setdefault("paths", {})
    # The generic route is replaced by one concrete path per method.
    paths.pop("/api/v1/services/{service}/{method}/", None)
    for spec in registry.all_methods():
        request_name = _component_name(spec.key, "Request")
        response_name = _component_name(spec.key, "Response")
        schemas[request_name] = openapi_schema(spec.request, "request", nested)
        if spec.binary:
            content, headers = _document_content(spec)
        else:
            schemas[response_name] = openapi_schema(spec.response, "response", nested)
            content, headers = _envelope_content(spec, response_name), _MONEY_HEADERS
        responses: dict[str, Any] = {
            str(spec.success_status): {
                "description": "The method's normalised answer.",
                "headers": {
                    "X-Request-ID": {"schema": {"type": "string"}},
                    "X-Provider": {"schema": {"type": "string"}, "description": "Who served."},
                    "X-Price": {"schema": {"type": "string"}, "description": "What was charged."},
                    **headers,
                },
                "content": content,
            }
        }
        for status, description in _ERRORS.items():
            responses[status] = {
                "description": description,
                "content": {"application/problem+json": {"schema": _PROBLEM}},
            }
        paths[f"/api/v1/services/{spec.service}/{spec.name}/"] = {
            "post": {
                "operationId": f"{spec.service}_{spec.name}",
                "summary": spec.summary,
                "description": spec.description,
                "tags": [spec.service],
                "security": [{"ApiKeyAuth": []}, {"InternalJWT": []}],
                "parameters": _parameters(spec),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{request_name}"},
                            **_examples(spec.request, "request"),
                        }
                    },
                },
                "responses": responses,
            }
        }
    schemas.update(nested.build({}).get("schemas", {}))
    return result


def _envelope_content(spec: MethodSpec, response_name: str) -> dict[str, Any]:
    envelope = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "service": {"type": "string", "enum": [spec.service]},
            "method": {"type": "string", "enum": [spec.name]},
            "status": {"type": "string", "enum": ["succeeded"]},
            "data": {"$ref": f"#/components/schemas/{response_name}"},
        },
        "required": ["request_id", "service", "method", "status", "data"],
    }
    examples = _examples(spec.response, "response").get("examples", {})
    for example in examples.values():
        example["value"] = {
            "request_id": "0b7e5c1e-6f1d-4c84-9a63-2d0f3e8b9a41",
            "service": spec.service,
            "method": spec.name,
            "status": "succeeded",
            "data": example["value"],
        }
    return {
        "application/json": {"schema": envelope, **({"examples": examples} if examples else {})}
    }


def _examples(
    serializer: type[serializers.Serializer], direction: str
) -> dict[str, dict[str, Any]]:
    """The OpenApiExamples declared beside a method's serializer (`extend_schema_serializer`),
    as a media type's `examples`; none: nothing, and Swagger UI would make some up."""
    declared: list[OpenApiExample] = get_override(serializer, "examples", [])
    wanted = [
        example
        for example in declared
        if not (example.response_only if direction == "request" else example.request_only)
    ]
    return {"examples": copy.deepcopy(build_examples_list(wanted))} if wanted else {}


def _document_content(spec: MethodSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """A method answering a document: its bytes, and the header naming the file."""
    content = {spec.media_type: {"schema": {"type": "string", "format": "binary"}}}
    headers = {
        "Content-Disposition": {
            "schema": {"type": "string"},
            "description": 'attachment; filename="<request id>.<extension>"',
        },
        **{k: v for k, v in _MONEY_HEADERS.items() if k.startswith("X-RateLimit-")},
    }
    return content, headers


def _parameters(spec: MethodSpec) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"in": "header", "name": "X-Request-ID", "schema": {"type": "string"}}
    ]
    if not spec.binary:  # a document is not stored for replays (apps.gateway.documents)
        parameters.insert(
            0,
            {
                "in": "header",
                "name": "Idempotency-Key",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "A retry with the same key and payload within 24 h gets "
                "the first answer, uncharged (X-Idempotency-Key is accepted too).",
            },
        )
    return parameters
