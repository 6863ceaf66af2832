"""Issue #12 leftovers: the scrub migration's audit rows in the admin, read-only for whoever
may read the ledger; staff tokens are not made in the admin (only by the command, which
checks who gets one)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client as HttpClient
from django.urls import reverse
from knox.models import AuthToken

from apps.ledger.models import LedgerRedaction
from tests import factories
from tests.factories import staff_user
from tests.factories.ledger import ledger_entry

pytestmark = pytest.mark.django_db

REDACTIONS = "admin:ledger_ledgerredaction_changelist"


def signed_in(user: User) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)
    return browser


@pytest.fixture
def redaction() -> LedgerRedaction:
    entry = ledger_entry(factories.ClientFactory(), request_id="req-scrubbed-0042")
    return LedgerRedaction.objects.create(
        entry=entry, fields=["attempts", "error_detail"], reason="vendor error text (#12)"
    )


def test_finance_staff_see_the_redactions_listed(redaction):
    # given
    browser = signed_in(staff_user("fiona", "finance"))

    # when
    page = browser.get(reverse(REDACTIONS))

    # then the list names the row's request id, the fields and the reason
    assert page.status_code == 200
    text = page.content.decode()
    assert "req-scrubbed-0042" in text
    assert "attempts, error_detail" in text
    assert "vendor error text (#12)" in text
    detail = browser.get(reverse("admin:ledger_ledgerredaction_change", args=[redaction.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # nothing to save: read-only


def test_a_redaction_of_an_archived_row_stays_listed(redaction):
    # given a redaction whose ledger row's month was archived (ledger_archive drops the rows;
    # the redaction keeps the row's id)
    LedgerRedaction.objects.create(
        entry_id=987654321, fields=["routing"], reason="archived month's scrub (#12)"
    )
    browser = signed_in(staff_user("fiona", "finance"))

    # when
    page = browser.get(reverse(REDACTIONS))

    # then both are listed, the archived row's by its id
    assert page.status_code == 200
    text = page.content.decode()
    assert "archived month&#x27;s scrub (#12)" in text
    assert "row 987654321 (archived)" in text
    assert "req-scrubbed-0042" in text
    assert "2 ledger redactions" in text


def test_no_one_adds_changes_or_deletes_a_redaction(redaction):
    # given even a superuser
    browser = signed_in(User.objects.create_superuser("root", password="pw"))

    # when
    add = browser.get(reverse("admin:ledger_ledgerredaction_add"))
    change = browser.post(
        reverse("admin:ledger_ledgerredaction_change", args=[redaction.pk]),
        {"reason": "rewritten"},
    )
    delete = browser.post(
        reverse("admin:ledger_ledgerredaction_delete", args=[redaction.pk]), {"post": "yes"}
    )

    # then
    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert LedgerRedaction.objects.get().reason == "vendor error text (#12)"


def test_staff_without_the_ledger_permission_do_not_see_them(redaction):
    # given ops staff (they tune the catalog; they do not read the ledger)
    browser = signed_in(staff_user("otto", "ops"))

    # when
    page = browser.get(reverse(REDACTIONS))

    # then
    assert page.status_code == 403


def test_the_admin_makes_no_staff_token_for_a_user_the_command_would_refuse():
    # given a superuser, and a staff user without the ledger permission
    browser = signed_in(User.objects.create_superuser("root", password="pw"))
    outsider = staff_user("otto", "ops")

    # when the admin's add form is posted for the outsider
    page = browser.post(
        reverse("admin:knox_authtoken_add"), {"user": outsider.pk, "expiry_0": "", "expiry_1": ""}
    )

    # then no token is made; the list points at the command, where tokens are withdrawn
    assert page.status_code == 403
    assert not AuthToken.objects.exists()
    listing = browser.get(reverse("admin:knox_authtoken_changelist"))
    assert listing.status_code == 200
    assert b"create_staff_token" in listing.content
