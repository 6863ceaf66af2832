"""Namecheap's XML API envelope: parse its answers safely and classify its error numbers.

Every command answers (https://www.namecheap.com/support/api/intro/)

    <ApiResponse Status="OK|ERROR" xmlns="http://api.namecheap.com/xml.response">
      <Errors><Error Number="2019166">Domain not found</Error></Errors>
      <CommandResponse Type="namecheap.domains.getInfo">...</CommandResponse>
    </ApiResponse>

mostly with HTTP 200 whatever the outcome, so the Status and the error numbers say what
happened. Some documented examples omit the namespace; both forms are read alike. The bytes
are parsed with defusedxml (no entity expansion, no external DTDs), never the stdlib parser.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    InvalidInput,
    ProviderFault,
)

# Global error codes, documented for every command (/support/api/global-parameters/):
# our credentials, our whitelisted IP or the account itself. Never the client's input.
GLOBAL_FAULTS: Mapping[int, str] = {
    1010101: OUTCOME_AUTH,  # Parameter APIUser is missing
    1010102: OUTCOME_AUTH,  # Parameter APIKey is missing
    1011102: OUTCOME_AUTH,  # Parameter APIKey is missing (also: key invalid, API not enabled)
    1010104: OUTCOME_MISCONFIGURED,  # Parameter Command is missing
    1010105: OUTCOME_AUTH,  # Parameter ClientIP is missing
    1011105: OUTCOME_AUTH,  # Parameter ClientIP is missing
    1030408: OUTCOME_AUTH,  # Unsupported authentication type
    1050900: OUTCOME_AUTH,  # Unknown error when validating APIUser
    1011150: OUTCOME_AUTH,  # Parameter RequestIP is invalid (IP not whitelisted)
    1017150: OUTCOME_AUTH,  # Parameter RequestIP is disabled or locked
    1017105: OUTCOME_AUTH,  # Parameter ClientIP is disabled or locked
    1017101: OUTCOME_AUTH,  # Parameter ApiUser is disabled or locked
    1017410: OUTCOME_AUTH,  # Too many declined payments
    1017411: OUTCOME_AUTH,  # Too many login attempts
    1019103: OUTCOME_AUTH,  # Parameter UserName is not available
    1016103: OUTCOME_AUTH,  # Parameter UserName is unauthorized
    1017103: OUTCOME_AUTH,  # Parameter UserName is disabled or locked
    # "Possibly a logical error in authentication phase. Order chargeable for Username is
    # not found" (documented for create, renew, reactivate): the account, not the input.
    2033409: OUTCOME_AUTH,
}


# Per command, the documented numbers that mean the client's input is wrong, by the field
# at fault (each command page's "Error Codes" table). Numbers not listed are faults.
# "TLD is not supported in API" (create) and "TLD is invalid" (create, renew): wherever they
# appear (check, getPricing too), Namecheap does not sell the TLD.
TLD_NOT_SOLD = {2030280: "domain", 2011280: "domain"}
# namecheap.domains.create
CREATE_INVALID = {
    **TLD_NOT_SOLD,
    3019166: "domain",  # Domain not available
    4019166: "domain",  # Domain not available
    2015182: "registrant_contact.phone",  # Contact phone invalid: +NNN.NNNNNNNNNN
    2015167: "period",  # Years validation failed
    2011322: "domain",  # Extended attributes invalid (the TLD needs fields we do not ask)
    # "Error From Enom when Errorcount <> 0": the registry refused this order (taken,
    # reserved, contact refused). The purchase is pinned, so no failover is lost by it.
    3031510: "domain",
}
# namecheap.domains.getInfo
GET_INVALID = {
    2019166: "domain",  # Domain not found
    2016166: "domain",  # Domain is not associated with your account
    2030166: "domain",  # Domain is invalid
    4011103: "domain",  # DomainName not available / access denied
}
# namecheap.domains.renew
RENEW_INVALID = {
    2011280: "domain",  # TLD is invalid
    2016166: "domain",  # Domain is not associated with your account
    2020166: "domain",  # Domain has expired. Please reactivate your domain
}
# namecheap.domains.dns.setHosts (2019166 "Domain not found" is the domain not there yet)
SET_HOSTS_INVALID = {
    2016166: "domain",  # Domain is not associated with your account
    2030166: "domain",  # Edit permission for domain is not supported
    2030288: "domain",  # Not using Namecheap's DNS servers, so host records do not apply
    3013288: "records",  # Too many records
}
DOMAIN_NOT_FOUND = 2019166


@dataclass(frozen=True)
class ApiError:
    number: int
    text: str


@dataclass(frozen=True)
class ApiAnswer:
    """One parsed answer: `result` is the CommandResponse element (None on errors)."""

    ok: bool
    errors: tuple[ApiError, ...]
    result: Element | None

    def first(self, tag: str) -> Element:
        """The command's result element, e.g. DomainCheckResult; KeyError when absent (a
        malformed answer, which the adapter base turns into a fault)."""
        found = self.result.find(f".//{tag}") if self.result is not None else None
        if found is None:
            raise KeyError(f"no <{tag}> in the answer")
        return found


def parse_answer(content: bytes, status_code: int) -> ApiAnswer:
    """Read an ApiResponse. Anything else (an HTML error page, garbage, a hostile DTD) is
    a malformed answer: a fault, so the router may try another registrar."""
    try:
        root = SafeElementTree.fromstring(content)
    except (ParseError, DefusedXmlException) as exc:
        raise ProviderFault(
            OUTCOME_MALFORMED, f"HTTP {status_code} with a body that is not Namecheap's XML"
        ) from exc
    for element in root.iter():
        # "{http://api.namecheap.com/xml.response}Errors" -> "Errors"
        element.tag = element.tag.rpartition("}")[2]
    if root.tag != "ApiResponse":
        raise ProviderFault(OUTCOME_MALFORMED, f"HTTP {status_code}: <{root.tag}>, no ApiResponse")
    errors = tuple(
        ApiError(number=_error_number(e), text=(e.text or "").strip())
        for e in root.findall("./Errors/Error")
    )
    ok = root.get("Status", "").upper() == "OK" and not errors
    return ApiAnswer(ok=ok, errors=errors, result=root.find("./CommandResponse"))


def _error_number(element: Element) -> int:
    try:
        return int(element.get("Number", "0"))
    except ValueError:
        return 0


def raise_for_errors(
    answer: ApiAnswer,
    *,
    invalid: Mapping[int, str] | None = None,
    command: str,
) -> None:
    """Turn an ERROR answer into the right exception.

    `invalid` maps the command's documented numbers that mean "the client's input is wrong"
    to the request field they concern: those become InvalidInput (422, no failover). Global
    (credential) numbers are faults with outcome auth; every other number, documented or not,
    is conservatively a fault: the registrar could not serve, which is not the client's
    fault, and a registrar answering nonsense should be failed over from.
    """
    if answer.ok:
        return
    if not answer.errors:
        raise ProviderFault(OUTCOME_OUTAGE, f"{command}: Status=ERROR without an error")
    invalid = invalid or {}
    for error in answer.errors:
        if error.number in GLOBAL_FAULTS:
            raise ProviderFault(GLOBAL_FAULTS[error.number], _describe(command, error))
    rejected = [e for e in answer.errors if e.number in invalid]
    if rejected and len(rejected) == len(answer.errors):
        errors: dict[str, list[str]] = {}
        for error in rejected:
            errors.setdefault(invalid[error.number], []).append(error.text)
        raise InvalidInput(f"Namecheap refused it: {rejected[0].text}", errors=errors)
    raise ProviderFault(OUTCOME_OUTAGE, _describe(command, answer.errors[0]))


def _describe(command: str, error: ApiError) -> str:
    return f"{command}: error {error.number}: {error.text}"


# -- attribute readers: the answer's shape is documented, so a missing or bad value is a
# KeyError/ValueError, which the adapter base classifies as a malformed answer. ---------------


def attr(element: Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise KeyError(f"<{element.tag}> has no {name}")
    return value


def attr_bool(element: Element, name: str) -> bool:
    value = attr(element, name).strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"<{element.tag} {name}={value!r}> is not a boolean")
    return value == "true"


def attr_decimal(element: Element, name: str) -> Decimal:
    return to_decimal(attr(element, name))


def to_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not an amount") from exc
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    return value


def charged_amount(element: Element) -> Decimal:
    """ChargedAmount, written with four places (`9.0600`), in cents when that is exact:
    what the account was charged, in the shape the other prices have."""
    amount = attr_decimal(element, "ChargedAmount")
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount


def us_date(text: str) -> datetime.date:
    """Namecheap writes dates the US way, `09/05/2026`, sometimes with a time after them
    (`4/30/2021 11:31:13 AM`); the date is what a domain's expiry means."""
    day = text.strip().split(" ")[0]
    return datetime.datetime.strptime(day, "%m/%d/%Y").date()


def domain_status(status: str) -> str:
    """getInfo's Status is Ok, Locked or Expired; Ok is what GoDaddy calls ACTIVE."""
    status = status.strip().upper()
    return "ACTIVE" if status == "OK" else status


def expiry_of(result: Element) -> str:
    """DomainDetails/ExpiredDate (a date) as the ISO datetime its day starts, in UTC."""
    expiry = result.find("./DomainDetails/ExpiredDate")
    if expiry is None or not expiry.text:
        raise KeyError("no DomainDetails/ExpiredDate")
    day = us_date(expiry.text)
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC).isoformat()


def one_year_price(answer: ApiAnswer, tld: str) -> Decimal | None:
    """The 1-year REGISTER price of the product named `tld`, or None when not listed."""
    if answer.result is None:
        return None
    categories = answer.result.findall(".//ProductCategory")
    register = [c for c in categories if c.get("Name", "").lower() == "register"]
    for category in register or categories or [answer.result]:
        for product in category.iter("Product"):
            if attr(product, "Name").lower() != tld.lower():
                continue
            for price in product.iter("Price"):
                if attr(price, "Duration") == "1" and price.get("DurationType") == "YEAR":
                    extra = price.get("AdditionalCost") or "0"
                    return attr_decimal(price, "Price") + to_decimal(extra)
    return None
