"""GoDaddy Domains API, https://developer.godaddy.com/doc/endpoint/domains.

`Authorization: sso-key {api_key}:{api_secret}`; calls made for a client's sub-account
(shopper) carry `X-Shopper-Id`. Prices and totals are in micro-units (1 USD = 1000000).
Errors are `{"code", "message", "fields": [{"path", "code", "message"}]}`; a 429 adds
`retryAfterSec`. Production is https://api.godaddy.com, the test environment (OTE)
https://api.ote-godaddy.com.
"""

from __future__ import annotations

import secrets
import string
from collections import defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from apps.catalog.providers import (
    OUTCOME_HTTP_ERROR,
    OUTCOME_QUOTA,
    CallContext,
    InvalidInput,
    ProviderAdapter,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.core.db import then_release_connection
from apps.integrations.domains.errors import DomainNotReady
from apps.integrations.domains.names import tld_of
from apps.integrations.domains.providers.base import RegistrarAdapter
from apps.integrations.domains.providers.godaddy_contacts import (
    godaddy_contact,
    godaddy_record,
    our_field,
)
from apps.integrations.domains.services import registrant_account_store

MICRO = Decimal(1_000_000)


def from_micro(value: int | str) -> Decimal:
    return (Decimal(value) / MICRO).quantize(Decimal("0.01"))


def subaccount_password() -> str:
    """A fresh password per sub-account (the original used one fixed password for all):
    GoDaddy wants letters of both cases, a digit and a symbol."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(20))
    return f"{body}{secrets.choice('!@#$%^*')}{secrets.randbelow(10)}aZ"


@registry.provider
class GoDaddy(RegistrarAdapter):
    key = "domains.godaddy"
    display_name = "GoDaddy"
    default_base_url = "https://api.godaddy.com"
    credential_fields = ("api_key", "api_secret")

    def _headers(self, account: dict[str, str] | None = None) -> dict[str, str]:
        credentials = self.config.credentials
        headers = {
            "Authorization": f"sso-key {credentials['api_key']}:{credentials['api_secret']}",
            "Accept": "application/json",
        }
        if account:
            headers["X-Shopper-Id"] = account["shopper_id"]
        return headers

    async def _request(
        self, method: str, path: str, *, account: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        response = await self.send(method, path, headers=self._headers(account), **kwargs)
        if response.status_code >= 400:
            _raise_for(response, self.json_of(response) if response.content else {})
        return response

    async def health_probe(self) -> None:
        """`GET /v1/domains/tlds`: GoDaddy answers and accepts the key."""
        await self._request("GET", "/v1/domains/tlds")

    async def _availability(self, domain: str) -> dict[str, Any]:
        response = await self._request(
            "GET",
            "/v1/domains/available",
            params={"domain": domain, "checkType": "FULL", "forTransfer": "false"},
        )
        answer = self.json_of(response)
        available = bool(answer["available"])
        price = None
        if available:
            # The price is for `period` years; offers are compared per year.
            price = from_micro(answer["price"]) / int(answer.get("period") or 1)
        return {
            "domain": domain,
            "available": available,
            "price": price,
            "currency": answer.get("currency") if available else None,
        }

    @provides("check_availability")
    async def check_availability(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        return await self._availability(payload["domain"])

    @provides("create_registration_intention")
    async def create_registration_intention(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        offer = await self._availability(payload["domain"])
        if not offer["available"]:
            return offer
        response = await self._request(
            "GET",
            "/v1/domains/agreements",
            params={"tlds": tld_of(payload["domain"]), "privacy": "false"},
        )
        keys = [agreement["agreementKey"] for agreement in self.json_of(response)]
        offer["schema_extra"] = {
            "properties": {
                "agreed_agreements": {
                    "type": "array",
                    "description": "Every one of GoDaddy's agreements for this TLD.",
                    "items": {"type": "string", "enum": keys},
                    "minItems": len(keys),
                    "uniqueItems": True,
                }
            },
            "required": ["agreed_agreements"],
        }
        return offer

    @provides("submit_registration_intention")
    async def submit_registration_intention(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        agreed_by = payload.get("client_ip") or context.source_ip
        if not agreed_by:
            raise InvalidInput(
                "GoDaddy records the address of who agreed to its terms.",
                errors={"client_ip": ["Required when the call has no source address."]},
            )
        body = self._purchase_body(payload, agreed_by)
        await self._request("POST", "/v1/domains/purchase/validate", json=body)
        account = payload.get("account") or await self._create_subaccount(payload)
        response = await self._request("POST", "/v1/domains/purchase", json=body, account=account)
        order = self.json_of(response)
        return {
            "domain": payload["domain"],
            "registered": True,
            "order_id": str(order["orderId"]),
            "total": from_micro(order["total"]),
            "currency": order["currency"],
            "account": account,
        }

    def _purchase_body(self, payload: dict[str, Any], agreed_by: str) -> dict[str, Any]:
        registrant = godaddy_contact(payload["registrant_contact"])
        operator = settings.DOMAINS_OPERATOR_CONTACT
        own = godaddy_contact(operator) if operator else registrant
        return {
            "domain": payload["domain"],
            "period": payload["period"],
            "renewAuto": False,
            "privacy": False,
            "nameServers": [],
            "consent": {
                "agreementKeys": list(payload.get("agreed_agreements") or []),
                "agreedBy": agreed_by,
                "agreedAt": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "contactRegistrant": registrant,
            "contactAdmin": registrant,
            "contactTech": own,
            "contactBilling": own,
        }

    async def _create_subaccount(self, payload: dict[str, Any]) -> dict[str, str]:
        """`POST /v1/shoppers/subaccount`: the client's own shopper, which will own its
        domains; its password is random and kept encrypted with the account."""
        contact = payload["registrant_contact"]
        password = subaccount_password()
        response = await self._request(
            "POST",
            "/v1/shoppers/subaccount",
            json={
                "email": contact["email"],
                "password": password,
                "nameFirst": contact["first_name"],
                "nameLast": contact["last_name"],
                "marketId": "en-US",
                "externalId": payload["client_id"],  # our client, as the original sent it
            },
        )
        created = self.json_of(response)
        account = {
            "shopper_id": str(created["shopperId"]),
            "customer_id": str(created.get("customerId", "")),
            "password": password,
        }
        # Kept at once, not with the purchase: if the purchase then fails, the next submit
        # must use this shopper rather than create another one.
        await sync_to_async(then_release_connection(registrant_account_store))(
            client_id=payload["client_id"], provider=self.config.slug, account=account
        )
        return account

    @provides("get")
    async def get(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        domain = payload["domain"]
        response = await self._request(
            "GET", f"/v1/domains/{quote(domain)}", account=payload.get("account")
        )
        detail = self.json_of(response)
        return {
            "domain": domain,
            "status": str(detail["status"]),
            "expires_at": detail.get("expires"),
            "renew_auto": detail.get("renewAuto"),
            "nameservers": list(detail.get("nameServers") or []),
        }

    @provides("renew")
    async def renew(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        domain = payload["domain"]
        response = await self._request(
            "POST",
            f"/v1/domains/{quote(domain)}/renew",
            json={"period": payload["period"]},
            account=payload.get("account"),
        )
        order = self.json_of(response)
        return {
            "domain": domain,
            "order_id": str(order["orderId"]),
            "total": from_micro(order["total"]),
            "currency": order["currency"],
        }

    @provides("set_dns")
    async def set_dns(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        """One `PUT /v1/domains/{domain}/records/{type}` per record type: the records of that
        type are replaced, other types stay. 404 UNKNOWN_DOMAIN right after a purchase means
        GoDaddy has not made the zone yet."""
        domain = payload["domain"]
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in payload["records"]:
            by_type[record["type"]].append(godaddy_record(record))
        for record_type, records in by_type.items():
            try:
                await self._request(
                    "PUT",
                    f"/v1/domains/{quote(domain)}/records/{record_type}",
                    json=records,
                    account=payload.get("account"),
                )
            except GoDaddyRefusal as exc:
                if exc.code in ("UNKNOWN_DOMAIN", "NOT_FOUND"):
                    raise DomainNotReady(f"GoDaddy has no zone for {domain} yet") from exc
                raise
        return {"domain": domain, "records": payload["records"]}


class GoDaddyRefusal(InvalidInput):
    """GoDaddy refused the input; keeps its error code (UNKNOWN_DOMAIN means not ready)."""

    def __init__(self, detail: str, *, code: str, errors: dict[str, list[str]]) -> None:
        super().__init__(detail, errors=errors)
        self.code = code


def _raise_for(response: httpx.Response, answer: Any) -> None:
    status = response.status_code
    answer = answer if isinstance(answer, dict) else {}
    code, message = str(answer.get("code", "")), str(answer.get("message", ""))
    detail = f"HTTP {status} {code}: {message}"
    if status == 429:
        retry = answer.get("retryAfterSec")
        raise ProviderFault(OUTCOME_QUOTA, detail, retry_after_s=float(retry) if retry else None)
    if status >= 500:
        raise ProviderFault(OUTCOME_HTTP_ERROR, detail)
    if status in (400, 404, 409, 422):
        errors: dict[str, list[str]] = {}
        for field in answer.get("fields") or []:
            name = our_field(str(field.get("path", "")))
            errors.setdefault(name, []).append(str(field.get("message") or field.get("code")))
        if not errors:
            errors = {"domain" if status in (404, 409) else "non_field_errors": [message or code]}
        raise GoDaddyRefusal(f"GoDaddy refused it: {message or code}", code=code, errors=errors)
    raise ProviderAdapter.refusal(status, detail)
