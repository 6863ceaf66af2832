"""The SMS service: send one text message through Twilio or Vonage."""

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.catalog.registry import MethodSpec, ServiceDefinition, registry
from apps.core.serializers import StrictCharField, StrictRegexField
from apps.messaging.hooks import record_sent_message

E164 = r"^\+[1-9]\d{1,14}$"
# An alphanumeric sender id: 1-11 letters, digits or spaces, at least one letter.
ALPHANUMERIC_SENDER = r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$"
MAX_BODY = 1600  # what Twilio and Vonage accept: ten concatenated parts and more


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A code from an alphanumeric sender",
            value={
                "sender": "ACME",
                "to_number": "+447700900123",
                "body": "Your ACME verification code is 482913. It expires in 10 minutes.",
            },
            request_only=True,
        ),
        OpenApiExample(
            "A reminder from a phone number",
            value={
                "sender": "+14155550100",
                "to_number": "+14155550199",
                "body": "Reminder: your appointment is tomorrow at 9:30. Reply C to cancel.",
            },
            request_only=True,
        ),
    ]
)
class SendSmsRequest(serializers.Serializer):
    sender = StrictRegexField(
        f"{E164}|{ALPHANUMERIC_SENDER}",
        help_text=(
            "An E.164 number such as +14155550100, or an alphanumeric sender id of 1-11 "
            "letters, digits and spaces with at least one letter, such as ACME."
        ),
        error_messages={
            "invalid": "Use an E.164 number (+14155550100) or 1-11 letters, digits and spaces "
            "with at least one letter."
        },
    )
    to_number = StrictRegexField(
        E164,
        help_text="E.164, e.g. +447700900123.",
        error_messages={"invalid": "Use an E.164 number, e.g. +447700900123."},
    )
    body = StrictCharField(max_length=MAX_BODY, trim_whitespace=False)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Accepted",
            value={
                "accepted": True,
                "message_id": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
                "segments": 1,
            },
            response_only=True,
        )
    ]
)
class SendSmsResponse(serializers.Serializer):
    accepted = serializers.BooleanField(help_text="The provider accepted the message.")
    message_id = StrictCharField(help_text="The provider's message id.")
    segments = serializers.IntegerField(help_text="How many SMS parts the text was sent as.")


@registry.service
class SmsService(ServiceDefinition):
    slug = "sms"
    name = "SMS"
    description = "Text messages through Twilio or Vonage."

    send = MethodSpec(
        request=SendSmsRequest,
        response=SendSmsResponse,
        summary="Send a text message",
        description=(
            "Send one SMS. Not idempotent: after a provider timed out once the message was on "
            "its way, no other provider is tried (it may have been sent)."
        ),
        idempotent=False,
        on_recorded=record_sent_message,
    )
