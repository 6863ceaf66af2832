"""The SMS service: send one text message through Twilio or Vonage."""

from rest_framework import serializers

from apps.catalog.registry import MethodSpec, ServiceDefinition, registry
from apps.core.serializers import StrictCharField, StrictRegexField
from apps.messaging.services import record_sent_message

E164 = r"^\+[1-9]\d{1,14}$"
# An alphanumeric sender id: 1-11 letters, digits or spaces, at least one letter.
ALPHANUMERIC_SENDER = r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$"
MAX_BODY = 1600  # what Twilio and Vonage accept: ten concatenated parts and more


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
