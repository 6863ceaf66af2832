"""The email service: send one message through SendGrid, Postmark, Mailgun or SMTP."""

import base64
import binascii
import re
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.catalog.registry import MethodSpec, ServiceDefinition, registry
from apps.core.serializers import ClosedSerializer, StrictCharField, StrictRegexField
from apps.messaging.hooks import record_sent_message

# What every provider accepts, so that failover never meets a smaller limit (Postmark takes
# 50 recipients per message; SendGrid, Mailgun and SMTP relays at least as many).
MAX_RECIPIENTS = 50
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENTS_MAX_TOTAL_BYTES = 25 * 1024 * 1024

_NO_LINE_BREAKS = re.compile(r"^[^\r\n]*$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*$")
_FILE_NAME = re.compile(r"^[^\\/\r\n\x00]+$")


def _single_line(max_length: int, **kwargs: Any) -> StrictRegexField:
    return StrictRegexField(
        _NO_LINE_BREAKS,
        max_length=max_length,
        error_messages={"invalid": "Must not contain line breaks."},
        **kwargs,
    )


class PersonSerializer(ClosedSerializer):
    """An address, and the name shown with it."""

    email = serializers.EmailField(max_length=254)
    name = _single_line(256, required=False, allow_blank=True, default="")


class AttachmentSerializer(ClosedSerializer):
    """A file sent with the message."""

    name = StrictRegexField(
        _FILE_NAME,
        max_length=255,
        help_text="File name shown to the recipient, e.g. invoice.pdf.",
        error_messages={"invalid": "A file name without path separators or line breaks."},
    )
    content_type = StrictRegexField(
        _CONTENT_TYPE,
        max_length=127,
        help_text="MIME type, e.g. application/pdf.",
        error_messages={"invalid": "A MIME type such as application/pdf."},
    )
    content = StrictCharField(
        help_text=f"The file, base64-encoded; at most {ATTACHMENT_MAX_BYTES // 2**20} MiB decoded."
    )

    def validate_content(self, value: str) -> str:
        # MIME-style base64 wraps its lines: the vendors' JSON APIs want it unwrapped.
        value = "".join(value.split())
        try:
            size = len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not valid base64.") from None
        if size > ATTACHMENT_MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is {size} bytes; at most {ATTACHMENT_MAX_BYTES} are accepted."
            )
        return value


def attachment_size(attachment: dict[str, str]) -> int:
    return len(base64.b64decode(attachment["content"]))


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A receipt, plain text and HTML",
            value={
                "from_email": {"email": "orders@shop.example.com", "name": "Example Shop"},
                "to": [{"email": "jane.doe@example.org", "name": "Jane Doe"}],
                "reply_to": {"email": "support@shop.example.com", "name": "Example Shop Support"},
                "subject": "Your order 10042 has shipped",
                "body_plain_text": "Hi Jane,\n\nYour order 10042 is on its way and should "
                "arrive on Tuesday.\n\nExample Shop",
                "body_html": "<style>p { color: #333; }</style><p>Hi Jane,</p><p>Your order "
                "<b>10042</b> is on its way and should arrive on Tuesday.</p>",
                "transform_css": True,
            },
            request_only=True,
        ),
        OpenApiExample(
            "An invoice with an attachment",
            value={
                "from_email": {"email": "billing@shop.example.com", "name": "Example Shop"},
                "to": [{"email": "accounts@customer.example.net"}],
                "cc": [{"email": "jane.doe@example.org", "name": "Jane Doe"}],
                "subject": "Invoice INV-2026-0042",
                "body_plain_text": "Please find invoice INV-2026-0042 attached.",
                "attachments": [
                    {
                        "name": "INV-2026-0042.csv",
                        "content_type": "text/csv",
                        "content": "aXRlbSxxdWFudGl0eSxhbW91bnQKQ2VyYW1pYyBtdWcsMiw1OS44MApU"
                        "LXNoaXJ0LDEsNDAuMjAK",
                    }
                ],
            },
            request_only=True,
        ),
    ]
)
class SendEmailRequest(serializers.Serializer):
    """One message. Addresses are `{email, name?}`."""

    from_email = PersonSerializer()
    to = PersonSerializer(many=True, allow_empty=False)
    cc = PersonSerializer(many=True, required=False, allow_empty=False)
    bcc = PersonSerializer(many=True, required=False, allow_empty=False)
    reply_to = PersonSerializer(required=False)
    subject = _single_line(998)
    body_plain_text = StrictCharField(trim_whitespace=False)
    body_html = StrictCharField(required=False, trim_whitespace=False)
    transform_css = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Inline the <style> rules of body_html into style attributes before sending.",
    )
    attachments = AttachmentSerializer(
        many=True,
        required=False,
        allow_empty=False,
        help_text=f"At most {ATTACHMENTS_MAX_TOTAL_BYTES // 2**20} MiB in all, decoded.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        recipients = [p["email"].lower() for k in ("to", "cc", "bcc") for p in attrs.get(k, [])]
        if len(recipients) > MAX_RECIPIENTS:
            raise serializers.ValidationError(
                {"to": [f"At most {MAX_RECIPIENTS} recipients in to, cc and bcc together."]}
            )
        if len(set(recipients)) != len(recipients):
            raise serializers.ValidationError(
                {"to": ["Each address may appear only once across to, cc and bcc."]}
            )
        if attrs.get("transform_css") and not attrs.get("body_html"):
            raise serializers.ValidationError({"transform_css": ["There is no body_html."]})
        total = sum(attachment_size(a) for a in attrs.get("attachments", []))
        if total > ATTACHMENTS_MAX_TOTAL_BYTES:
            raise serializers.ValidationError(
                {
                    "attachments": [
                        f"The files are {total} bytes together; "
                        f"at most {ATTACHMENTS_MAX_TOTAL_BYTES} are accepted."
                    ]
                }
            )
        return attrs


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Accepted",
            value={"accepted": True, "message_id": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"},
            response_only=True,
        )
    ]
)
class SendEmailResponse(serializers.Serializer):
    accepted = serializers.BooleanField(help_text="The provider accepted the message.")
    message_id = StrictCharField(
        help_text="The provider's message id; delivery events refer to it."
    )


@registry.service
class EmailService(ServiceDefinition):
    slug = "email"
    name = "Email"
    description = "Transactional email through SendGrid, Postmark, Mailgun or any SMTP server."

    send = MethodSpec(
        request=SendEmailRequest,
        response=SendEmailResponse,
        summary="Send an email",
        description=(
            "Send one message. Not idempotent: after a provider timed out once the message "
            "was on its way, no other provider is tried (it may have been sent)."
        ),
        idempotent=False,
        on_recorded=record_sent_message,
    )
