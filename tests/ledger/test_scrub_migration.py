"""Migration ledger 0008: vendor error text stored before issue #12 is rewritten, and each
ledger row it changes is audited by a LedgerRedaction (the one exception to append-only)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.catalog.models import Provider
from apps.ledger.models import LedgerEntry, LedgerRedaction
from tests import factories
from tests.factories import call_row

pytestmark = pytest.mark.django_db

KEY = "fx-0ld-5ecret-key-77"
LEAKED_URL = f"https://data.fixer.io/api/latest?access_key={KEY}&base=EUR"
migration = importlib.import_module("apps.ledger.migrations.0008_scrub_vendor_error_text")


def run_migration() -> None:
    state = MigrationLoader(connection).project_state(("ledger", "0008_scrub_vendor_error_text"))
    migration.scrub_everything(state.apps, None)


def test_old_vendor_text_is_rewritten_and_each_changed_row_audited() -> None:
    # given fixer's key, and rows written the way the gateway wrote them before
    fixer = Provider.objects.get(slug="fixer")
    fixer.credentials = {"access_key": KEY}
    fixer.save()
    client = factories.ClientFactory()
    leaked = call_row(
        client,
        datetime(2026, 11, 2, tzinfo=UTC),
        status=LedgerEntry.Status.FAILED,
        http_status=502,
        price=Decimal("0"),
        error_type="all-providers-failed",
        error_detail="Every provider tried for currency.latest_rates failed.",
        attempts=[
            {
                "provider": "fixer",
                "outcome": "connection_error",
                "latency_ms": 12,
                "error": f"RemoteProtocolError: ClientResponseError: 400, url='{LEAKED_URL}'",
            },
            {
                "provider": "oxr",
                "outcome": "malformed",
                "latency_ms": 9,
                "error": "unexpected answer: KeyError('rates')",
            },
            {
                "provider": "ecb",
                "outcome": "http_error",
                "latency_ms": 5,
                "error": f"HTTP 401: invalid key {KEY}",
            },
        ],
        routing={"strategy": "priority", "strategy_error": "RuntimeError('boom')"},
    )
    clean = call_row(
        client,
        datetime(2026, 11, 3, tzinfo=UTC),
        attempts=[
            {"provider": "fixer", "outcome": "ok", "latency_ms": 30},
        ],
    )

    # when
    run_migration()

    # then the leaked row keeps its money and status, with our reasons in its text
    leaked_now = LedgerEntry.objects.get(pk=leaked.pk)
    assert [a.get("error") for a in leaked_now.attempts] == [
        "not valid HTTP",
        "unexpected answer shape (KeyError)",
        "HTTP 401: invalid key [redacted]",
    ]
    assert leaked_now.routing["strategy_error"] == "raised RuntimeError"
    assert (leaked_now.price, leaked_now.amount, leaked_now.status) == (
        leaked.price,
        leaked.amount,
        leaked.status,
    )
    # and the change is on record for that row only
    audit = LedgerRedaction.objects.get()
    assert (audit.entry_id, audit.fields) == (leaked.pk, ["attempts", "routing"])
    assert "Issue #12" in audit.reason
    assert LedgerEntry.objects.get(pk=clean.pk).attempts == clean.attempts


def test_a_second_run_changes_nothing() -> None:
    # given a row already scrubbed
    client = factories.ClientFactory()
    call_row(
        client,
        datetime(2026, 11, 2, tzinfo=UTC),
        attempts=[
            {
                "provider": "fixer",
                "outcome": "timeout",
                "latency_ms": 1,
                "error": f"ReadTimeout: {LEAKED_URL}",
            }
        ],
    )
    run_migration()

    # when
    run_migration()

    # then
    assert LedgerRedaction.objects.count() == 1
    assert LedgerEntry.objects.get().attempts[0]["error"] == "read timeout"
