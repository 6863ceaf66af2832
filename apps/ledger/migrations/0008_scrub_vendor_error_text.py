"""Issue #12: rewrite vendor error text stored before attempts kept our own reasons.

Ledger rows are append-only; this is the one documented exception. Only text fields are
rewritten (attempts' `error`, the routing decision's `strategy_error`, `error_detail`), and
each row changed gets a LedgerRedaction saying which fields and why. Background calls'
attempts, purchases' DNS errors and the breakers' last errors (Redis) are rewritten too.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Q

from apps.catalog.failures import scrub
from apps.core.redaction import maskable
from apps.routing.scrub import breaker_errors_scrub, stored_attempts, stored_reason

REASON = (
    "Issue #12: vendor error text (request URLs with credentials) replaced by the gateway's "
    "own short reasons, by migration ledger 0008. Amounts and statuses unchanged."
)
BATCH = 500


def provider_secrets(apps: StateApps) -> tuple[str, ...]:
    Provider = apps.get_model("catalog", "Provider")
    values: list[object] = []
    for credentials in Provider.objects.values_list("credentials", flat=True):
        if isinstance(credentials, dict):
            values.extend(credentials.values())
    return maskable(values)


def ledger_scrub(apps: StateApps, secrets: tuple[str, ...]) -> int:
    """Rewrite the ledger rows' stored text; one LedgerRedaction per row changed."""
    LedgerEntry = apps.get_model("ledger", "LedgerEntry")
    LedgerRedaction = apps.get_model("ledger", "LedgerRedaction")
    rows = (
        LedgerEntry.objects.filter(
            Q(attempts__icontains='"error"')
            | Q(routing__icontains="strategy_error")
            | ~Q(error_detail="")
        )
        .only("pk", "attempts", "routing", "error_detail")
        .order_by("pk")
    )
    changed = 0
    for row in rows.iterator(chunk_size=BATCH):
        new: dict[str, Any] = {
            "attempts": stored_attempts(row.attempts, secrets),
            "error_detail": scrub(row.error_detail, secrets, limit=None),
        }
        routing = row.routing
        if isinstance(routing, dict) and isinstance(routing.get("strategy_error"), str):
            routing = {**routing, "strategy_error": stored_reason(routing["strategy_error"])}
        new["routing"] = routing
        fields = sorted(name for name, value in new.items() if value != getattr(row, name))
        if not fields:
            continue
        # The historical model's plain manager: the append-only queryset is not used here.
        LedgerEntry.objects.filter(pk=row.pk).update(**{f: new[f] for f in fields})
        LedgerRedaction.objects.create(entry_id=row.pk, fields=fields, reason=REASON)
        changed += 1
    return changed


def other_scrub(apps: StateApps, secrets: tuple[str, ...]) -> None:
    AsyncCall = apps.get_model("realtime", "AsyncCall")
    for call in AsyncCall.objects.filter(attempts__icontains='"error"').only("pk", "attempts"):
        attempts = stored_attempts(call.attempts, secrets)
        if attempts != call.attempts:
            AsyncCall.objects.filter(pk=call.pk).update(attempts=attempts)
    Purchase = apps.get_model("domains", "Purchase")
    for purchase in Purchase.objects.exclude(dns_error="").only("pk", "dns_error"):
        text = scrub(purchase.dns_error, secrets, limit=None)
        if text != purchase.dns_error:
            Purchase.objects.filter(pk=purchase.pk).update(dns_error=text)
    Offering = apps.get_model("catalog", "Offering")
    breaker_errors_scrub(Offering.objects.values_list("pk", flat=True), secrets)


def scrub_everything(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    secrets = provider_secrets(apps)
    ledger_scrub(apps, secrets)
    other_scrub(apps, secrets)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0007_ledgerredaction"),
        ("catalog", "0005_provider_countries"),
        ("realtime", "0001_initial"),
        ("domains", "0001_initial"),
    ]

    operations = [
        # Nothing to undo: the old text is gone on purpose.
        migrations.RunPython(scrub_everything, migrations.RunPython.noop, elidable=True),
    ]
