"""make run says in one line when PDF rendering cannot work (no Pango); WeasyPrint and fontTools
log nothing about a rendered document at the default level."""

import json
import logging
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.catalog.models import Offering
from apps.integrations.docs import pango
from tests.integrations.docs.conftest import HTML_TO_PDF, INVOICE

pytestmark = pytest.mark.django_db

# What `import weasyprint` does on a machine without Pango (weasyprint/text/ffi.py): a banner
# on standard output, then cffi's OSError.
NO_PANGO = """
print("\\n-----\\n\\nWeasyPrint could not import some external libraries. Please carefully "
      "follow the installation steps before reporting an issue:\\n...\\n-----\\n")
raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared "
              "object file: No such file or directory")
"""


def start() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("gateway_demo", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_without_pango_the_demo_says_so_in_one_line_and_keeps_the_method(
    monkeypatch, tmp_path: Path
):
    # given a renderer whose system libraries cannot be loaded
    (tmp_path / "weasyprint_without_pango").mkdir()
    (tmp_path / "weasyprint_without_pango" / "__init__.py").write_text(NO_PANGO)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(pango, "PDF_RENDERER_MODULE", "weasyprint_without_pango")

    # when
    out, err = start()

    # then one line says what to install, and WeasyPrint's own banner is not shown
    assert err.splitlines() == [
        "PDF rendering (docs.html_to_pdf) needs Pango, which is not installed: apt install "
        "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 (macOS: brew install pango); "
        "every other method works."
    ]
    assert "WeasyPrint could not import" not in out + err
    # and the demo still lists the method, served by WeasyPrint once Pango is there
    offering = Offering.objects.get(provider__slug="weasyprint", method__slug="html_to_pdf")
    assert (offering.enabled, offering.provider.enabled) == (True, True)
    assert "API key for client 'demo'" in out


def test_with_pango_the_demo_does_not_warn_about_it_and_renders_quietly(api, caplog):
    # given this machine, which has Pango (HarfBuzz's subsetting library is optional: the
    # demo names it when it is missing, as on this machine's Debian image)
    out, err = start()
    from weasyprint.text import ffi

    subset_missing = ffi.harfbuzz_subset is None
    assert err.splitlines() == ([pango.HARFBUZZ_SUBSET_MISSING] if subset_missing else [])
    key = out.split("(shown only once): ")[1].split()[0]

    # when a PDF is rendered
    response = api.post(
        HTML_TO_PDF,
        json.dumps(INVOICE),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {key}"},
    )

    # then it is a PDF, and neither WeasyPrint's steps nor fontTools' subsetting were logged
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    chatter = [
        (r.name, r.getMessage())
        for r in caplog.records
        if r.name.startswith(("weasyprint", "fontTools")) and r.levelno < logging.WARNING
    ]
    assert chatter == []
