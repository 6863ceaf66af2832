"""The offline demo renders PDFs with WeasyPrint; the document service is listed disabled."""

import json
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from apps.catalog.models import Provider
from tests.integrations.docs.conftest import HTML_TO_PDF, INVOICE

pytestmark = pytest.mark.django_db


def test_the_demo_key_renders_a_pdf_offline(api):
    # given the demo catalog
    out = StringIO()
    call_command("gateway_demo", stdout=out, stderr=StringIO())
    key = out.getvalue().split("(shown only once): ")[1].split()[0]
    remote = Provider.objects.get(slug="docs-remote")
    assert (remote.enabled, remote.base_url) == (False, "http://docs.internal")

    # when
    response = api.post(
        HTML_TO_PDF,
        json.dumps(INVOICE),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {key}"},
    )

    # then
    assert (response.status_code, response["X-Provider"], response["X-Price"]) == (
        200,
        "weasyprint",
        "0.0200",
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_the_demo_dumps_both_docs_providers_and_a_second_apply_changes_nothing():
    path = settings.BASE_DIR / "fixtures" / "demo.yaml"
    call_command("gateway_apply", str(path), stdout=StringIO())
    dumped = StringIO()
    call_command("gateway_dump", stdout=dumped)
    docs_providers = {
        p["slug"]: p["enabled"]
        for p in yaml.safe_load(dumped.getvalue())["providers"]
        if p["adapter"].startswith("docs.")
    }

    assert docs_providers == {"docs-remote": False, "weasyprint": True}
    again = StringIO()
    call_command("gateway_apply", str(path), stdout=again)
    counts = [line for line in again.getvalue().splitlines() if " created, " in line]
    assert counts and all(": 0 created, 0 updated," in line for line in counts), counts
