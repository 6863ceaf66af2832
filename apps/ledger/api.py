"""The finance API (staff with the ledger permission); a client's own usage is usage_api.py.

  GET /api/v1/ledger/                 rows, newest first, cursor pagination
  GET /api/v1/ledger/summary/         calls, cost, revenue, margin per group
  GET /api/v1/ledger/export.csv       the rows as CSV, streamed, oldest first

Staff authenticate with their admin session or a token (`Authorization: Token <key>`,
`manage.py create_staff_token <username>`; stored hashed, expiring); reading the ledger needs
`ledger.view_ledgerentry`, which the `finance` group has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.auth import TokenAuthentication
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import ClientKeyAuthentication
from apps.core.money import money_str
from apps.ledger.export import export_chunks
from apps.ledger.filters import LedgerFilters
from apps.ledger.models import LedgerEntry
from apps.ledger.params import InstantField, LedgerCursor
from apps.ledger.selectors import ledger_rows
from apps.ledger.summary import SUMMARY_GROUPS, ledger_summary

LEDGER_PERMISSION = "ledger.view_ledgerentry"
EXPORT_BATCH_SIZE = 5000  # rows per query and per chunk sent


class CanReadLedger(BasePermission):
    """Active staff users holding the ledger's view permission (the `finance` group)."""

    message = "Reading the ledger needs staff access with the ledger permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user is not None
            and getattr(user, "is_staff", False)
            and user.is_active
            and user.has_perm(LEDGER_PERMISSION)
        )


STAFF_AUTHENTICATION = [TokenAuthentication, SessionAuthentication, ClientKeyAuthentication]


class LedgerFilterInput(serializers.Serializer):
    client = serializers.CharField(required=False, help_text="A client's slug.")
    api_key = serializers.CharField(required=False, help_text="An API key's prefix.")
    service = serializers.CharField(required=False)
    method = serializers.CharField(
        required=False, help_text="A method slug, or a full key such as currency.latest_rates."
    )
    provider = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=LedgerEntry.Status.choices, required=False)
    channel = serializers.ChoiceField(choices=LedgerEntry.Channel.choices, required=False)
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.choices, required=False)
    request_id = serializers.CharField(required=False)
    created_after = InstantField(required=False, help_text="Inclusive; a date or date-time.")
    created_before = InstantField(required=False, help_text="Exclusive; a date or date-time.")


def _filters(request: Request, **extra: Any) -> LedgerFilters:
    data = LedgerFilterInput(data=request.query_params)
    data.is_valid(raise_exception=True)
    return LedgerFilters(**data.validated_data, **extra)


class KeyOutput(serializers.Serializer):
    """An API key as finance sees it: its prefix and name, never its stored hash."""

    prefix = serializers.CharField()
    name = serializers.CharField()


class LedgerListApi(APIView):
    """GET /api/v1/ledger/: ledger rows, newest first (cursor pagination)."""

    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [CanReadLedger]

    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField()
        created_at = serializers.DateTimeField()
        kind = serializers.CharField()
        client = serializers.CharField(source="client.slug")
        api_key = KeyOutput(allow_null=True)
        service = serializers.CharField()
        method = serializers.CharField()
        provider = serializers.CharField()
        status = serializers.CharField()
        http_status = serializers.IntegerField(allow_null=True)
        error_type = serializers.CharField()
        price = serializers.DecimalField(max_digits=14, decimal_places=4)
        cost = serializers.DecimalField(max_digits=14, decimal_places=4)
        amount = serializers.DecimalField(max_digits=14, decimal_places=4)
        margin = serializers.DecimalField(max_digits=14, decimal_places=4)
        currency = serializers.CharField()
        cached = serializers.BooleanField()
        free_call = serializers.BooleanField()
        latency_ms = serializers.IntegerField(allow_null=True)
        channel = serializers.CharField()
        source_ip = serializers.CharField(allow_null=True)
        country = serializers.CharField()
        attempts = serializers.JSONField()
        routing = serializers.JSONField()
        reverses = serializers.CharField(
            source="reverses.request_id", default=None, allow_null=True
        )
        reason = serializers.CharField()
        created_by = serializers.CharField(
            source="created_by.username", default=None, allow_null=True
        )

    @extend_schema(
        parameters=[LedgerFilterInput],
        responses={200: OutputSerializer(many=True)},
        tags=["ledger"],
    )
    def get(self, request: Request) -> Response:
        rows = ledger_rows(filters=_filters(request))
        paginator = LedgerCursor()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class LedgerSummaryApi(APIView):
    """GET /api/v1/ledger/summary/?group_by=provider,day: calls, cost, revenue, margin."""

    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [CanReadLedger]

    class InputSerializer(LedgerFilterInput):
        group_by = serializers.CharField(
            required=False,
            default="",
            help_text=f"Comma-separated, any of: {', '.join(SUMMARY_GROUPS)}; none for totals.",
        )

        def validate_group_by(self, value: str) -> list[str]:
            names = [name.strip() for name in value.split(",") if name.strip()]
            unknown = [name for name in names if name not in SUMMARY_GROUPS]
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown group {', '.join(unknown)}; use {', '.join(SUMMARY_GROUPS)}."
                )
            return list(dict.fromkeys(names))

    class LineSerializer(serializers.Serializer):
        group = serializers.DictField(child=serializers.CharField())
        calls = serializers.IntegerField()
        cost = serializers.CharField()
        revenue = serializers.CharField()
        margin = serializers.CharField()

    class OutputSerializer(serializers.Serializer):
        group_by = serializers.ListField(child=serializers.CharField())
        currency = serializers.CharField()
        results = serializers.ListField(child=serializers.DictField())
        totals = serializers.DictField()

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer}, tags=["ledger"])
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        group_by = data.validated_data.pop("group_by")
        lines = ledger_summary(group_by=group_by, filters=LedgerFilters(**data.validated_data))
        calls = sum(line.calls for line in lines)
        cost = sum((line.cost for line in lines), Decimal(0))
        revenue = sum((line.revenue for line in lines), Decimal(0))
        return Response(
            {
                "group_by": group_by,
                "currency": settings.ACCOUNTING_CURRENCY,
                "results": [
                    {
                        **line.group,
                        "calls": line.calls,
                        "cost": money_str(line.cost),
                        "revenue": money_str(line.revenue),
                        "margin": money_str(line.margin),
                    }
                    for line in lines
                ],
                "totals": {
                    "calls": calls,
                    "cost": money_str(cost),
                    "revenue": money_str(revenue),
                    "margin": money_str(revenue - cost),
                },
            }
        )


def csv_chunks(filters: LedgerFilters) -> Iterator[bytes]:
    """The header, then one chunk of CSV per batch of rows (apps/ledger/export.py)."""
    return export_chunks(filters, batch_size=EXPORT_BATCH_SIZE)


async def _csv_chunks_async(filters: LedgerFilters) -> AsyncIterator[bytes]:
    # Under ASGI a synchronous iterator would be read whole before sending: pull each batch
    # in the thread that owns the database connection instead.
    chunks = csv_chunks(filters)

    def next_chunk() -> bytes | None:
        return next(chunks, None)

    while (chunk := await sync_to_async(next_chunk)()) is not None:
        yield chunk


class LedgerExportApi(APIView):
    """GET /api/v1/ledger/export.csv: the filtered rows as CSV, oldest first, streamed."""

    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [CanReadLedger]

    @extend_schema(
        parameters=[LedgerFilterInput],
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="text/csv")},
        tags=["ledger"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = _filters(request)
        content: Iterator[bytes] | AsyncIterator[bytes]
        if isinstance(request._request, ASGIRequest):
            content = _csv_chunks_async(filters)
        else:
            content = csv_chunks(filters)
        response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="ledger-{stamp}.csv"'
        return response
