"""The OpenAPI operation of each method: drf-spectacular finds one path per method in the
call ViewSet's routes (apps.gateway.views), and `MethodCallSchema` describes it with the
method's own request and response.

A method's examples are declared beside its serializers (`extend_schema_serializer(examples=
[OpenApiExample(...)])`, request_only on the request's, response_only on the answer's); each
answer's example is shown inside the JSON envelope. tests/gateway/test_openapi.py holds
every example to the method's own validator.
"""

import copy
from typing import Any

from drf_spectacular.drainage import get_override
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent, build_examples_list
from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from apps.accounts.authentication import ClientKeyAuthentication
from apps.accounts.openapi import ClientKeyAuthenticationScheme
from apps.catalog.registry import MethodSpec
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


class MethodCallSchema(AutoSchema):
    """The OpenAPI operation of one method's action (apps.gateway.views): its own request
    and answer, the headers it sends, the problems it may answer. Unknown methods' route
    (the pipeline's 404s) is not documented."""

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        self.registry, self.path, self.method = registry, path, method.upper()
        spec = getattr(self.view, "method_spec", None)
        if spec is None or self.method != "POST":
            return None
        _register_shared(registry)
        return method_operation(spec, registry)


def _register_shared(registry: ComponentRegistry) -> None:
    """What every method's operation refers to: the problem body and the two ways in."""
    api_key = ClientKeyAuthenticationScheme(ClientKeyAuthentication)
    for component in (
        ResolvedComponent(
            name=api_key.name,
            type=ResolvedComponent.SECURITY_SCHEMA,
            object=ClientKeyAuthentication,  # as drf-spectacular registers the other views'
            schema=api_key.get_security_definition(None),
        ),
        ResolvedComponent(
            name="InternalJWT",
            type=ResolvedComponent.SECURITY_SCHEMA,
            object="InternalJWT",
            schema={"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        ),
        ResolvedComponent(
            name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=PROBLEM_SCHEMA
        ),
    ):
        registry.register_on_missing(component)


def method_operation(spec: MethodSpec, registry: ComponentRegistry) -> dict[str, Any]:
    """The POST operation of a method; its request and answer schemas go to `registry`."""
    request_name = _component_name(spec.key, "Request")
    response_name = _component_name(spec.key, "Response")
    _register_schema(registry, request_name, openapi_schema(spec.request, "request", registry))
    if spec.binary:
        content, headers = _document_content(spec)
    else:
        schema = openapi_schema(spec.response, "response", registry)
        _register_schema(registry, response_name, schema)
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
    return {
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


def _register_schema(registry: ComponentRegistry, name: str, schema: dict[str, Any]) -> None:
    registry.register_on_missing(
        ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
    )


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
