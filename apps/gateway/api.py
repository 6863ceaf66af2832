"""The catalog and a call's status: GET /api/v1/services/ and GET /api/v1/requests/{id}/.

The calls themselves, POST /api/v1/services/{service}/{method}/: apps.gateway.views (and,
before Django, apps.gateway.asgi_calls).
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.registry import registry
from apps.core.errors import NotFound
from apps.gateway.schemas import json_schema
from apps.gateway.snapshot import current_snapshot_sync
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_call_get
from apps.realtime.selectors import async_call_get, async_call_view


class ServiceListApi(APIView):
    """GET /api/v1/services/: services, methods and their JSON Schemas (the meta-schema)."""

    permission_classes = [IsAuthenticated]

    class MethodOutput(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        summary = serializers.CharField()
        description = serializers.CharField()
        path = serializers.CharField()
        idempotent = serializers.BooleanField()
        cacheable = serializers.BooleanField()
        media_type = serializers.CharField(
            help_text="What a successful call answers: application/json (the envelope), or "
            "a document's type such as application/pdf (its bytes)."
        )
        request_schema = serializers.JSONField()
        response_schema = serializers.JSONField()

    class ServiceOutput(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        methods = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses={200: ServiceOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request) -> Response:
        snapshot = current_snapshot_sync()
        services: dict[str, dict[str, Any]] = {}
        for route in snapshot.methods.values():
            spec = route.spec
            definition = registry.services[spec.service]
            service = services.setdefault(
                spec.service,
                {
                    "slug": definition.slug,
                    "name": definition.name,
                    "description": definition.description,
                    "methods": [],
                },
            )
            service["methods"].append(
                {
                    "key": spec.key,
                    "name": spec.name,
                    "summary": spec.summary,
                    "description": spec.description,
                    "path": f"/api/v1/services/{spec.service}/{spec.name}/",
                    "idempotent": spec.idempotent,
                    "cacheable": spec.cacheable,
                    "media_type": spec.media_type,
                    "request_schema": json_schema(spec, "request"),
                    "response_schema": json_schema(spec, "response"),
                }
            )
        ordered = [services[slug] for slug in sorted(services)]
        for service in ordered:
            service["methods"].sort(key=lambda m: m["name"])
        return Response(ordered)


class RequestDetailApi(APIView):
    """GET /api/v1/requests/{id}/: status and, once final, result of a background call;
    for a call answered synchronously, its status from the ledger (its result went back in
    the response and is not stored).

    Only the client that made the call sees it; for anyone else the id does not exist (404).
    """

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField()
        service = serializers.CharField()
        method = serializers.CharField()
        status = serializers.ChoiceField(
            choices=["pending", "running", "succeeded", "failed", "rejected", "unknown"]
        )
        channel = serializers.CharField(required=False, help_text="Synchronous calls.")
        created_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)
        runs = serializers.IntegerField(help_text="Runs a worker started (retries after faults).")
        http_status = serializers.IntegerField(required=False, help_text="Once final.")
        result = serializers.JSONField(
            required=False,
            help_text="Once final: the body a synchronous call would have returned.",
        )

    @extend_schema(responses={200: OutputSerializer}, tags=["calls"])
    def get(self, request: Request, request_id: str) -> Response:
        principal = request.auth
        call = None
        if principal is not None and hasattr(principal, "client_id"):
            call = async_call_get(client_id=principal.client_id, request_id=request_id)
            if call is None:
                entry = ledger_call_get(client_id=principal.client_id, request_id=request_id)
                if entry is not None:
                    return Response(ledger_call_view(entry))
        if call is None:
            raise NotFound(f"You have no call {request_id}.")
        return Response(async_call_view(call))


def ledger_call_view(entry: LedgerEntry) -> dict[str, Any]:
    """A synchronous call as GET /api/v1/requests/{id}/ shows it: final, without its result."""
    return {
        "request_id": entry.request_id,
        "service": entry.service,
        "method": entry.method,
        "status": entry.status,
        "channel": entry.channel,
        "created_at": entry.created_at.isoformat(),
        "finished_at": entry.created_at.isoformat(),
        "runs": 0,
        "http_status": entry.http_status,
    }
