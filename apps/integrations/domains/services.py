"""Writes of the domains service, each inside the transaction of the call's ledger row."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from apps.integrations.domains.models import (
    Domain,
    Purchase,
    RegistrantAccount,
    RegistrationIntention,
)


def intention_create(
    *,
    intention_id: str,
    client_id: int,
    domain: str,
    provider: str,
    price: Decimal,
    currency: str,
    schema: dict[str, Any],
) -> RegistrationIntention:
    return RegistrationIntention.objects.create(
        id=intention_id,
        client_id=client_id,
        domain=domain,
        provider=provider,
        price=price,
        currency=currency,
        schema=schema,
    )


def registrant_account_store(
    *, client_id: int, provider: str, account: dict[str, str] | None
) -> RegistrantAccount | None:
    """Keep the sub-account a registrar created for the client (None: it has none)."""
    if account is None:
        return None
    stored, _ = RegistrantAccount.objects.update_or_create(
        client_id=client_id,
        provider=provider,
        defaults={"account": {k: str(v) for k, v in account.items()}},
    )
    return stored


@transaction.atomic
def purchase_record(
    *,
    intention: RegistrationIntention,
    request_id: str,
    order_id: str,
    total: Decimal,
    currency: str,
    submitted: dict[str, Any],
    account: dict[str, str] | None,
    expires_at: datetime | None = None,
) -> Purchase:
    """The intention finished, its purchase, the client's ownership and sub-account.

    The initial-DNS task is sent once this commits (there is nothing to set before).
    """
    stored_account = registrant_account_store(
        client_id=intention.client_id, provider=intention.provider, account=account
    )
    intention.finished, intention.finished_at = True, timezone.now()
    intention.registration_data = {
        k: submitted.get(k) for k in ("registrant_contact", "agreed_agreements", "period")
    }
    intention.save(update_fields=["finished", "finished_at", "registration_data"])
    purchase = Purchase.objects.create(
        intention=intention,
        account=stored_account,
        request_id=request_id,
        order_id=order_id,
        total=total,
        currency=currency,
        period=submitted.get("period") or 1,
        dns_records=submitted.get("dns_records") or [],
    )
    Domain.objects.update_or_create(
        name=intention.domain,
        defaults={
            "client_id": intention.client_id,
            "provider": intention.provider,
            "purchase": purchase,
            "expires_at": expires_at,
        },
    )
    if purchase.dns_records:
        initial_dns_send(purchase_id=purchase.pk)
    return purchase


# The task of apps.integrations.domains.tasks, sent by name: the task calls these services.
INITIAL_DNS_TASK = "domains.initial_dns"


def initial_dns_send(*, purchase_id: int) -> None:
    """Set the purchase's initial DNS records in the background, once this transaction commits.

    A signature, not send_task: it resolves to the registered task, so eager mode (no broker)
    still runs it in process.
    """
    task = current_app.signature(INITIAL_DNS_TASK, args=(purchase_id,))
    transaction.on_commit(task.delay)


def domain_expiry_update(*, client_id: int, name: str, expires_at: datetime) -> None:
    Domain.objects.filter(client_id=client_id, name=name).update(
        expires_at=expires_at, updated_at=timezone.now()
    )


def purchase_dns_settle(*, purchase_id: int, error: str = "") -> None:
    """The initial DNS records are set (no error), or given up on (ops see why in the admin)."""
    Purchase.objects.filter(pk=purchase_id).update(dns_configured=not error, dns_error=error)
