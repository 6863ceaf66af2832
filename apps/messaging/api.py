"""POST /api/v1/webhooks/{provider}/: delivery events from email and sms providers.

No API key: each vendor proves the request is its own with its signature scheme.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import jsonbytes
from apps.core.errors import InvalidRequest, PayloadTooLarge
from apps.core.jsonbytes import JSONTooDeep
from apps.messaging.services import webhook_receive
from apps.messaging.webhooks.base import InboundWebhook


class ProviderWebhookApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []  # the signature covers the raw body: read it as sent

    class OutputSerializer(serializers.Serializer):
        recorded = serializers.IntegerField(help_text="New events stored.")
        duplicates = serializers.IntegerField(help_text="Events already stored (a retry).")

    @extend_schema(
        tags=["webhooks"],
        summary="Receive a provider's delivery events",
        description=(
            "SendGrid Event Webhook (signed, ECDSA), Mailgun webhooks (HMAC), Postmark "
            "webhooks (HTTP Basic credentials) and Twilio status callbacks "
            "(X-Twilio-Signature). Events are linked to the ledger row of the call that sent "
            "the message; a repeated event is stored once."
        ),
        request=None,
        responses={
            200: OutputSerializer,
            401: OpenApiResponse(description="Missing or wrong signature (problem+json)."),
            404: OpenApiResponse(description="No such provider, or it posts no webhooks."),
            503: OpenApiResponse(description="No secret configured to verify the webhook."),
        },
        auth=[],
    )
    def post(self, request: Request, provider: str) -> Response:
        try:
            body = request.body
        except RequestDataTooBig:
            raise PayloadTooLarge() from None
        try:
            # Before any vendor parses it (some do to find the signature): json recurses.
            jsonbytes.depth_check(body)
        except JSONTooDeep as exc:
            raise InvalidRequest(f"The body is refused: {exc}.") from exc
        receipt = webhook_receive(
            provider_slug=provider,
            request=InboundWebhook(
                url=request.build_absolute_uri(),
                headers=request.headers,
                body=body,
                content_type=request.content_type or "",
            ),
        )
        return Response({"recorded": receipt.recorded, "duplicates": receipt.duplicates})
