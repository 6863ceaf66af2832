"""Namecheap, a registrar with an XML API: https://www.namecheap.com/support/api/intro/.

Every command is one request to the one endpoint (`/xml.response`) carrying the global
parameters ApiUser, ApiKey, UserName, ClientIp (the whitelisted IPv4 of this gateway) and
Command. Reads go as a GET query, as the command pages show; create and setHosts, which carry
many fields, as a POST form, as those pages recommend. The answer is an ApiResponse envelope
(see namecheap_xml) whose error numbers each command page lists.

Namecheap has no sub-accounts for a reseller's customers: every domain lives in the
operator's own account, so `account` is always None.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache

from apps.catalog.providers import (
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.domains.errors import DomainNotReady
from apps.integrations.domains.providers import namecheap_fields as fields
from apps.integrations.domains.providers import namecheap_xml as xml
from apps.integrations.domains.providers.base import RegistrarAdapter

CURRENCY = "USD"  # Namecheap prices and charges its accounts in US dollars


@registry.provider
class Namecheap(RegistrarAdapter):
    """Namecheap's XML API; credentials `api_user`, `api_key`, `username`, `client_ip`.

    The sandbox is https://api.sandbox.namecheap.com/xml.response (set it as base URL).
    """

    key = "domains.namecheap"
    display_name = "Namecheap"
    default_base_url = "https://api.namecheap.com/xml.response"
    credential_fields = ("api_user", "api_key", "username", "client_ip")
    # create can take tens of seconds (the documented example ran 32 s).
    default_timeout_ms = 30000
    # getPricing: "We strongly recommend that you cache this API response".
    pricing_cache_s: ClassVar[int] = 3600

    def url(self, path: str) -> str:
        return self.config.base_url  # one endpoint; the command is a parameter

    async def command(
        self,
        name: str,
        params: dict[str, str],
        *,
        post: bool = False,
        invalid: dict[int, str] | None = None,
    ) -> xml.ApiAnswer:
        """Send one command; an ERROR answer raises (see namecheap_xml.raise_for_errors)."""
        answer = await self.ask(name, params, post=post)
        xml.raise_for_errors(answer, invalid=invalid, command=name)
        return answer

    async def ask(self, name: str, params: dict[str, str], *, post: bool = False) -> xml.ApiAnswer:
        """Send one command and parse the envelope, whatever its status."""
        credentials = self.config.credentials
        request = {
            "ApiUser": credentials["api_user"],
            "ApiKey": credentials["api_key"],
            "UserName": credentials["username"],
            "ClientIp": credentials["client_ip"],
            "Command": name,
            **params,
        }
        if post:
            response = await self.send("POST", "", data=request)
        else:
            response = await self.send("GET", "", params=request)
        self.raise_for_server_error(response)
        return xml.parse_answer(response.content, response.status_code)

    async def health_probe(self) -> None:
        """namecheap.users.getBalances: the API answers and takes our key and IP. A zero
        balance is not unhealthy: checks, reads and DNS still work without funds."""
        answer = await self.command("namecheap.users.getBalances", {})
        xml.attr_decimal(answer.first("UserGetBalancesResult"), "AvailableBalance")

    # -- availability and price ---------------------------------------------------------

    async def _offer(self, domain: str) -> dict[str, Any]:
        """namecheap.domains.check, priced: premium names at their premium price, the others
        at this account's register price for the TLD (getPricing, cached)."""
        unsold = {"domain": domain, "available": False, "price": None, "currency": None}
        try:
            answer = await self.command(
                "namecheap.domains.check", {"DomainList": domain}, invalid=xml.TLD_NOT_SOLD
            )
        except InvalidInput:
            return unsold  # xml.TLD_NOT_SOLD: a registrar that does not sell it says no
        result = answer.first("DomainCheckResult")
        if xml.attr(result, "ErrorNo") != "0" or not xml.attr_bool(result, "Available"):
            return unsold
        # The early-access fee of a TLD's launch weeks comes on top of any price.
        eap_fee = xml.to_decimal(result.get("EapFee") or "0")
        premium_price = None
        if xml.attr_bool(result, "IsPremiumName"):
            premium_price = xml.attr_decimal(result, "PremiumRegistrationPrice")
            price = premium_price + xml.to_decimal(result.get("IcannFee") or "0")
        else:
            regular = await self._register_price(fields.split_domain(domain)[1])
            if regular is None:
                return unsold
            price = regular
        return {
            "domain": domain,
            "available": True,
            "price": price + eap_fee,
            "currency": CURRENCY,
            "premium_price": premium_price,  # create must be told it, as check said it
            "eap_fee": eap_fee,
        }

    async def _register_price(self, tld: str) -> Decimal | None:
        """One year's register price of `tld` (Price + AdditionalCost, the ICANN fee)."""
        account = self.config.credentials["username"]
        key = f"namecheap:register-price:{self.config.slug}:{account}:{tld}"
        cached = await cache.aget(key)
        if cached is not None:
            return Decimal(cached) if cached else None
        try:
            answer = await self.command(
                "namecheap.users.getPricing",
                {
                    "ProductType": "DOMAIN",
                    "ProductCategory": "DOMAINS",
                    "ActionName": "REGISTER",
                    "ProductName": tld.upper(),
                },
                invalid=xml.TLD_NOT_SOLD,
            )
        except InvalidInput:
            answer = None
        price = xml.one_year_price(answer, tld) if answer else None
        await cache.aset(key, str(price) if price is not None else "", self.pricing_cache_s)
        return price

    @provides("check_availability")
    async def check_availability(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        offer = await self._offer(payload["domain"])
        return {k: offer[k] for k in ("domain", "available", "price", "currency")}

    @provides("create_registration_intention")
    async def create_registration_intention(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        offer = await self._offer(payload["domain"])
        return {
            **{k: offer[k] for k in ("domain", "available", "price", "currency")},
            "schema_extra": {"properties": {}, "required": []},  # no agreements to accept
        }

    # -- purchase -------------------------------------------------------------------------

    @provides("submit_registration_intention")
    async def submit_registration_intention(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        """Check again (premium names need their price sent back), then namecheap.domains.create."""
        domain = payload["domain"]
        operator = getattr(settings, "DOMAINS_OPERATOR_CONTACT", None)
        if not operator:
            raise ProviderFault(
                OUTCOME_MISCONFIGURED, "DOMAINS_OPERATOR_CONTACT is not set", sent=False
            )
        try:
            contacts = fields.registration_fields(payload, operator)
        except fields.FieldRefused as refused:
            if refused.field.startswith("DOMAINS_OPERATOR_CONTACT"):
                raise ProviderFault(OUTCOME_MISCONFIGURED, str(refused), sent=False) from None
            raise InvalidInput(refused.message, errors={refused.field: [refused.message]}) from None
        offer = await self._offer(domain)
        if not offer["available"]:
            message = "The domain is no longer available at Namecheap."
            raise InvalidInput(message, errors={"domain": [message]})
        if payload.get("price") is not None and offer["price"] > Decimal(payload["price"]):
            message = (
                f"Namecheap's price rose from {payload['price']} to {offer['price']} "
                f"{CURRENCY} since the intention; create a new intention."
            )
            raise InvalidInput(message, errors={"intention_id": [message]})
        params = {"DomainName": domain, "Years": str(payload.get("period") or 1), **contacts}
        params.update({"AddFreeWhoisguard": "no", "WGEnabled": "no"})
        if offer["premium_price"] is not None:
            params.update(
                {
                    "IsPremiumDomain": "true",
                    "PremiumPrice": str(offer["premium_price"]),
                    "EapFee": str(offer["eap_fee"]),
                }
            )
        answer = await self.command(
            "namecheap.domains.create", params, post=True, invalid=xml.CREATE_INVALID
        )
        result = answer.first("DomainCreateResult")
        if not xml.attr_bool(result, "Registered"):
            raise ProviderFault(OUTCOME_OUTAGE, f"create: {domain} was not registered")
        return {
            "domain": domain,
            "registered": True,
            "order_id": xml.attr(result, "OrderID"),
            "total": xml.charged_amount(result),
            "currency": CURRENCY,
            "account": None,
        }

    # -- the domains a client holds ---------------------------------------------------------

    @provides("get")
    async def get(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        """namecheap.domains.getInfo. It does not tell auto-renewal: renew_auto is None."""
        domain = payload["domain"]
        answer = await self.command(
            "namecheap.domains.getInfo", {"DomainName": domain}, invalid=xml.GET_INVALID
        )
        result = answer.first("DomainGetInfoResult")
        return {
            "domain": domain,
            "status": xml.domain_status(xml.attr(result, "Status")),
            "expires_at": xml.expiry_of(result),
            "renew_auto": None,
            "nameservers": [
                ns.text.strip().lower()
                for ns in result.findall("./DnsDetails/Nameserver")
                if ns.text and ns.text.strip()
            ],
        }

    @provides("renew")
    async def renew(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        """namecheap.domains.renew (DomainName, Years) -> DomainRenewResult."""
        domain = payload["domain"]
        params = {"DomainName": domain, "Years": str(payload.get("period") or 1)}
        answer = await self.command("namecheap.domains.renew", params, invalid=xml.RENEW_INVALID)
        result = answer.first("DomainRenewResult")
        if not xml.attr_bool(result, "Renew"):
            raise ProviderFault(OUTCOME_OUTAGE, f"namecheap.domains.renew: {domain} not renewed")
        renewed = {
            "domain": domain,
            "order_id": xml.attr(result, "OrderID"),
            "total": xml.charged_amount(result),
            "currency": CURRENCY,
        }
        if result.find("./DomainDetails/ExpiredDate") is not None:
            renewed["expires_at"] = xml.expiry_of(result)
        return renewed

    @provides("set_dns")
    async def set_dns(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        """namecheap.domains.dns.setHosts, which replaces every host record: the current ones
        of the types not given (getHosts) are sent back with the new ones."""
        domain, records = payload["domain"], payload["records"]
        sld, tld = fields.split_domain(domain)
        current = await self._hosts_answer("namecheap.domains.dns.getHosts", sld, tld, {})
        listing = current.first("DomainDNSGetHostsResult")
        kept = fields.kept_hosts(
            [dict(host.attrib) for host in listing if host.tag.lower() == "host"],
            {record["type"] for record in records},
        )
        try:
            hosts = fields.host_fields(records, kept, listing.get("EmailType", ""))
        except fields.FieldRefused as refused:
            raise InvalidInput(refused.message, errors={refused.field: [refused.message]}) from None
        answer = await self._hosts_answer("namecheap.domains.dns.setHosts", sld, tld, hosts)
        if not xml.attr_bool(answer.first("DomainDNSSetHostsResult"), "IsSuccess"):
            raise ProviderFault(OUTCOME_OUTAGE, f"setHosts: {domain} was not updated")
        return {"domain": domain, "records": fields.normalised_records(records)}

    async def _hosts_answer(
        self, command: str, sld: str, tld: str, hosts: dict[str, str]
    ) -> xml.ApiAnswer:
        answer = await self.ask(command, {"SLD": sld, "TLD": tld, **hosts}, post=bool(hosts))
        if any(error.number == xml.DOMAIN_NOT_FOUND for error in answer.errors):
            # Right after a purchase the domain is not in the account yet (a registry that
            # is not real-time): the initial-DNS task waits and asks again.
            raise DomainNotReady(f"{command}: {sld}.{tld} is not in the account yet")
        xml.raise_for_errors(answer, invalid=xml.SET_HOSTS_INVALID, command=command)
        return answer
