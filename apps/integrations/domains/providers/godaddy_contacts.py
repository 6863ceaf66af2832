"""GoDaddy's shapes of a contact and a DNS record, and its error field paths as ours."""

from __future__ import annotations

from typing import Any

import phonenumbers

# GoDaddy's field names inside a contact -> ours inside registrant_contact.
_CONTACT_FIELDS = {
    "nameFirst": "first_name",
    "nameLast": "last_name",
    "organization": "organization",
    "email": "email",
    "phone": "phone",
    "addressMailing": "address",
    "addressMailing.address1": "address.line1",
    "addressMailing.address2": "address.line2",
    "addressMailing.city": "address.city",
    "addressMailing.state": "address.region",
    "addressMailing.postalCode": "address.postal_code",
    "addressMailing.country": "address.country",
}
# Contacts filled from the client's form; tech and billing are the operator's own.
_FORM_CONTACTS = ("contactRegistrant", "contactAdmin")
_TOP_FIELDS = {
    "domain": "domain",
    "period": "period",
    "consent": "agreed_agreements",
    "consent.agreementKeys": "agreed_agreements",
}


def godaddy_phone(e164: str) -> str:
    """`+4930901820` -> `+49.30901820`: GoDaddy wants the country code apart."""
    number = phonenumbers.parse(e164, None)
    return f"+{number.country_code}.{number.national_number}"


def godaddy_contact(contact: dict[str, Any]) -> dict[str, Any]:
    address = contact["address"]
    mailing = {
        "address1": address["line1"],
        "city": address["city"],
        "state": address["region"],
        "postalCode": address["postal_code"],
        "country": address["country"],
    }
    if address.get("line2"):
        mailing["address2"] = address["line2"]
    shaped = {
        "nameFirst": contact["first_name"],
        "nameLast": contact["last_name"],
        "email": contact["email"],
        "phone": godaddy_phone(contact["phone"]),
        "addressMailing": mailing,
    }
    if contact.get("organization"):
        shaped["organization"] = contact["organization"]
    return shaped


def our_field(path: str) -> str:
    """A GoDaddy error path (`contactRegistrant.addressMailing.postalCode`) as our field name
    (`registrant_contact.address.postal_code`); `non_field_errors` when it is not ours."""
    path = path.removeprefix("body.").strip(".")
    if path in _TOP_FIELDS:
        return _TOP_FIELDS[path]
    head, _, rest = path.partition(".")
    if head in _FORM_CONTACTS and rest in _CONTACT_FIELDS:
        return f"registrant_contact.{_CONTACT_FIELDS[rest]}"
    return "non_field_errors"


def godaddy_record(record: dict[str, Any]) -> dict[str, Any]:
    """Our record as GoDaddy's DNSRecord; SRV's name `_service._proto[.host]` and data
    `weight port target` become its own fields."""
    shaped: dict[str, Any] = {
        "name": record["name"],
        "data": record["data"],
        "ttl": record.get("ttl", 3600),
    }
    if "priority" in record:
        shaped["priority"] = record["priority"]
    if record["type"] == "SRV":
        weight, port, target = record["data"].split()
        service, _, rest = record["name"].partition(".")
        protocol, _, host = rest.partition(".")
        shaped.update(
            service=service,
            protocol=protocol,
            name=host or "@",
            weight=int(weight),
            port=int(port),
            data=target,
        )
    return shaped
