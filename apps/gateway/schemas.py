"""JSON Schemas of each method's request and response, derived from its serializers.

drf-spectacular maps the serializers, so the meta-schema at /api/v1/services/ and the
OpenAPI document describe exactly what the pipeline validates.
"""

from functools import cache
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework import serializers
from rest_framework.views import APIView

from apps.catalog.registry import MethodSpec


def _auto_schema(component_registry: ComponentRegistry) -> AutoSchema:
    auto = AutoSchema()
    auto.registry = component_registry
    auto.method = "POST"
    auto.path = "/"
    view = APIView()
    view.request = None  # type: ignore[assignment]
    view.kwargs = {}
    view.format_kwarg = None
    auto.view = view
    return auto


def openapi_schema(
    serializer: type[serializers.Serializer], direction: str, component_registry: ComponentRegistry
) -> dict[str, Any]:
    """The OpenAPI schema object; nested serializers go to `component_registry`.

    Requests are closed (`additionalProperties: false`): the pipeline refuses unknown fields.
    """
    schema = _auto_schema(component_registry)._map_serializer(serializer(), direction)
    if direction == "request":
        schema["additionalProperties"] = False
    return schema


def _refs_to_defs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/components/schemas/", "#/$defs/")
                if k == "$ref" and isinstance(v, str)
                else _refs_to_defs(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_refs_to_defs(v) for v in node]
    return node


@cache
def json_schema(spec: MethodSpec, direction: str) -> dict[str, Any]:
    """A self-contained JSON Schema (2020-12) for a method's request or response."""
    if direction == "response" and spec.binary:
        # The answer is the document's bytes (JSON Schema's content vocabulary says which).
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "string",
            "contentMediaType": spec.media_type,
            "description": spec.response.__doc__ or "",
        }
    component_registry = ComponentRegistry()
    serializer = spec.request if direction == "request" else spec.response
    schema = openapi_schema(serializer, direction, component_registry)
    components = component_registry.build({}).get("schemas", {})
    document: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    document.update(_refs_to_defs(schema))
    if components:
        document["$defs"] = _refs_to_defs(components)
    return document
