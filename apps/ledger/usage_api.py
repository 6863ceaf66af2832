"""A client's own calls and charges, read with its API key.

GET /api/v1/usage/                  a client key's own calls and charges, newest first
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import ClientKeyAuthentication, Principal
from apps.ledger.filters import LedgerFilters
from apps.ledger.params import InstantField, LedgerCursor
from apps.ledger.selectors import ledger_usage_rows


class UsageApi(APIView):
    """GET /api/v1/usage/: the calling key's client's own calls and charges, newest first."""

    authentication_classes = [ClientKeyAuthentication]
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        method = serializers.CharField(
            required=False, help_text="A method slug or key (currency.latest_rates)."
        )
        created_after = InstantField(required=False, help_text="Inclusive.")
        created_before = InstantField(required=False, help_text="Exclusive.")

    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField()
        created_at = serializers.DateTimeField()
        kind = serializers.CharField()
        service = serializers.CharField()
        method = serializers.CharField()
        status = serializers.CharField()
        price = serializers.DecimalField(max_digits=14, decimal_places=4)
        amount = serializers.DecimalField(max_digits=14, decimal_places=4)
        currency = serializers.CharField()
        cached = serializers.BooleanField()
        free_call = serializers.BooleanField()
        channel = serializers.CharField()

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OutputSerializer(many=True)},
        tags=["usage"],
    )
    def get(self, request: Request) -> Response:
        principal = request.auth
        if not isinstance(principal, Principal):
            raise PermissionDenied("Usage is read with a client's API key.")
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        rows = ledger_usage_rows(
            client_id=principal.client_id, filters=LedgerFilters(**data.validated_data)
        )
        paginator = LedgerCursor()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
