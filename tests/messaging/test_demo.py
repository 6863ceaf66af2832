"""The offline demo sends email and SMS through the console providers."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.catalog.models import Provider

pytestmark = pytest.mark.django_db


def test_the_demo_key_sends_email_and_sms_offline(api, capsys):
    # given the demo catalog
    out = StringIO()
    call_command("gateway_demo", stdout=out, stderr=StringIO())
    key = out.getvalue().split("(shown only once): ")[1].split()[0]
    headers = {"Authorization": f"Api-Key {key}"}
    for slug in ("sendgrid", "postmark", "mailgun", "smtp", "twilio", "vonage"):
        provider = Provider.objects.get(slug=slug)
        assert (provider.enabled, provider.credentials) == (False, {})

    # when
    email = api.post(
        "/api/v1/services/email/send/",
        json.dumps(
            {
                "from_email": {"email": "demo@example.com"},
                "to": [{"email": "you@example.org"}],
                "subject": "Hello from the gateway",
                "body_plain_text": "It works.",
            }
        ),
        content_type="application/json",
        headers=headers,
    )
    sms = api.post(
        "/api/v1/services/sms/send/",
        json.dumps({"sender": "Gateway", "to_number": "+447700900123", "body": "It works."}),
        content_type="application/json",
        headers=headers,
    )

    # then
    assert (email.status_code, email["X-Provider"], email["X-Price"]) == (
        200,
        "email-console",
        "0.0100",
    )
    assert (sms.status_code, sms["X-Provider"], sms["X-Price"]) == (200, "sms-console", "0.1000")
    printed = capsys.readouterr().out
    assert "Subject: Hello from the gateway" in printed
    assert "from Gateway to +447700900123" in printed
