"""The hooks the domains methods plug into the call pipeline (see MethodSpec).

prepare_*   what a call may act on, for its client (404/409/400 before credit is held) and
            which registrar it is pinned to
fan_out     the cheapest available offer among every registrar asked at once
present_*   what the client sees of an answer (never a registrar sub-account)
*_recorded  what a served call leaves behind, in the transaction of its ledger row
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from apps.catalog.providers import InvalidInput
from apps.catalog.registry import Preparation
from apps.core.errors import ValidationFailed
from apps.integrations.domains import selectors, services
from apps.integrations.domains.models import RegistrationIntention
from apps.integrations.domains.registrant_form import form_errors, form_schema

Answers = list[tuple[str, dict[str, Any]]]


# -- availability: every registrar asked at once -------------------------------------------


def _cheapest(answers: Answers) -> tuple[str, dict[str, Any]] | None:
    offers = [(slug, a) for slug, a in answers if a.get("available") and a.get("price") is not None]
    if not offers:
        return None
    # Ties go to the slug first in order, so the same offers always pick the same registrar.
    return min(offers, key=lambda offer: (Decimal(offer[1]["price"]), offer[0]))


def cheapest_available(answers: Answers) -> tuple[str, dict[str, Any]]:
    """The cheapest available offer; none: not available (a registrar is named for the row)."""
    best = _cheapest(answers)
    if best is not None:
        return best
    slug, answer = sorted(answers, key=lambda a: a[0])[0]
    return slug, {"domain": answer["domain"], "available": False, "price": None, "currency": None}


def present_offer(provider: str, data: dict[str, Any]) -> dict[str, Any]:
    available = bool(data["available"])
    return {
        "domain": data["domain"],
        "available": available,
        "price": data["price"] if available else None,
        "currency": data["currency"] if available else None,
        "provider": provider if available else None,
    }


def intention_from_cheapest(answers: Answers) -> tuple[str, dict[str, Any]]:
    """The intention's offer: the cheapest registrar's, with the form it asks for."""
    best = _cheapest(answers)
    if best is None:
        domain = answers[0][1].get("domain", "")
        raise InvalidInput(
            f"{domain} is not available.", errors={"domain": ["The domain is not available."]}
        )
    slug, answer = best
    data = {
        # Chosen here so that the answer and the stored intention carry the same id.
        "intention_id": str(uuid.uuid4()),
        "domain": answer["domain"],
        "price": answer["price"],
        "currency": answer["currency"],
        "schema": form_schema(answer.get("schema_extra")),
    }
    return slug, data


def present_intention(provider: str, data: dict[str, Any]) -> dict[str, Any]:
    keys = ("intention_id", "domain", "price", "currency", "schema")
    return {**{k: data[k] for k in keys}, "provider": provider}


def intention_recorded(entry: Any, data: dict[str, Any]) -> None:
    services.intention_create(
        intention_id=data["intention_id"],
        client_id=entry.client_id,
        domain=data["domain"],
        provider=entry.provider,
        price=Decimal(data["price"]),
        currency=data["currency"],
        schema=data["schema"],
    )


# -- the purchase --------------------------------------------------------------------------


def prepare_submit(payload: dict[str, Any], client_id: int) -> Preparation:
    """The client's open intention, its form checked against the intention's schema."""
    intention = selectors.intention_for_submit(
        intention_id=payload["intention_id"], client_id=client_id
    )
    form: dict[str, Any] = {
        k: payload[k] for k in ("registrant_contact", "agreed_agreements") if k in payload
    }
    errors = form_errors(intention.schema, form)
    if errors:
        raise ValidationFailed("The form does not match the intention's schema.", errors=errors)
    if "dns_records" in payload:
        records = [dict(record) for record in payload["dns_records"]]
    else:
        records = list(settings.DOMAINS_DEFAULT_DNS_RECORDS)
    client_ip = payload.get("client_ip")
    return Preparation(
        pinned_provider=intention.provider,
        payload={
            "intention_id": str(intention.pk),
            "domain": intention.domain,
            "period": payload["period"],
            "registrant_contact": payload["registrant_contact"],
            "agreed_agreements": list(payload.get("agreed_agreements", [])),
            "price": intention.price,
            "currency": intention.currency,
            "client_id": client_id,
            "client_slug": intention.client.slug,
            "client_ip": str(client_ip) if client_ip else None,
            "account": selectors.registrant_account_data(
                client_id=client_id, provider=intention.provider
            ),
            "dns_records": records,
        },
    )


def present_purchase(provider: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "intention_id": (data.get("submitted") or {}).get("intention_id"),
        "domain": data["domain"],
        "provider": provider,
        "registered": bool(data["registered"]),
        "order_id": str(data["order_id"]),
        "total": data["total"],
        "currency": data["currency"],
    }


def purchase_recorded(entry: Any, data: dict[str, Any]) -> None:
    submitted = data.get("submitted") or {}
    intention = RegistrationIntention.objects.select_for_update().get(
        pk=submitted["intention_id"], client_id=entry.client_id
    )
    services.purchase_record(
        intention=intention,
        request_id=entry.request_id,
        order_id=str(data["order_id"]),
        total=Decimal(data["total"]),
        currency=data["currency"],
        submitted=submitted,
        account=data.get("account"),
        expires_at=_datetime(data.get("expires_at")),
    )


# -- a domain the client holds -------------------------------------------------------------


def prepare_held(payload: dict[str, Any], client_id: int) -> Preparation:
    """Pinned to the registrar holding the client's domain, with the client's sub-account."""
    domain = selectors.domain_held(client_id=client_id, name=payload["domain"])
    account = selectors.registrant_account_data(client_id=client_id, provider=domain.provider)
    records = payload.get("records")
    shaped = {**payload, "account": account}
    if records is not None:
        shaped["records"] = [dict(record) for record in records]
    return Preparation(pinned_provider=domain.provider, payload=shaped)


def present_with_provider(provider: str, data: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in data.items() if k not in ("account", "submitted")}
    return {**shown, "provider": provider}


def expiry_recorded(entry: Any, data: dict[str, Any]) -> None:
    """get and renew tell when the domain expires: keep the ownership row's date current."""
    expires_at = _datetime(data.get("expires_at"))
    if expires_at is not None:
        services.domain_expiry_update(
            client_id=entry.client_id, name=data["domain"], expires_at=expires_at
        )


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(str(value))
