"""The public call endpoint, POST /api/v1/services/{service}/{method}/ (async, ASGI)."""

import asyncio
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.documents import CHUNK_BYTES, Document
from apps.catalog.registry import registry
from apps.core.errors import GatewayError, MethodNotAllowed, NotFound, PayloadTooLarge
from apps.core.logging import request_id_var
from apps.core.problems import problem_response
from apps.gateway.entry import gateway_request_for
from apps.gateway.pipeline import handle_call
from apps.gateway.schemas import json_schema
from apps.gateway.snapshot import current_snapshot_sync
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_call_get
from apps.realtime.selectors import async_call_get, async_call_view
from apps.routing.http import close_http_client


@csrf_exempt
async def call_method(request: HttpRequest, service: str, method: str) -> HttpResponseBase:
    request_id = getattr(request, "request_id", None) or request_id_var.get()
    if request.method != "POST":
        error = MethodNotAllowed("Call a method with POST.", headers={"Allow": "POST"})
        return problem_response(error, request_id)
    try:
        body = request.body
    except RequestDataTooBig:
        return problem_response(PayloadTooLarge(), request_id)
    try:
        call = gateway_request_for(
            request_id=request_id,
            service=service,
            method=method,
            body=body,
            headers=request.headers,
            source_ip=request.META.get("REMOTE_ADDR"),
        )
    except GatewayError as error:
        return problem_response(error, request_id)
    try:
        # Shielded: Django cancels a view whose client hung up; the call must still be recorded.
        result = await asyncio.shield(handle_call(call))
    finally:
        if isinstance(request, WSGIRequest):
            # Served through async_to_sync (the test client, a WSGI server): this event loop
            # is the call's own and ends with it, and its HTTP connections with it.
            await close_http_client()
    if result.request_id is not None:
        # An idempotent replay answers with the first call's request id, header included.
        request.request_id = result.request_id  # type: ignore[attr-defined]
    response: HttpResponseBase
    if result.document is not None:
        response = _document_response(result.document, result.status)
    else:
        response = HttpResponse(
            result.render(), status=result.status, content_type=result.content_type
        )
    for name, value in result.headers.items():
        response[name] = value
    return response


def _document_response(document: Document, status: int) -> FileResponse:
    """The document in CHUNK_BYTES blocks; the response closes it once it is sent.

    Production calls are served by apps.gateway.asgi_calls; this view serves them to Django's
    test client (and under Django's own ASGI handler, which reads a file response whole).
    """
    response = FileResponse(document.open(), status=status, content_type=document.media_type)
    response.block_size = CHUNK_BYTES
    return response


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
