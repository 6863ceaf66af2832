"""The request fields of Namecheap commands, built from the service's normalised payloads.

Kept apart from the adapter so the translation (contacts, phone numbers, host records) can be
read and tested on its own against the field names of the command pages:
namecheap.domains.create (/support/api/methods/domains/create/) and
namecheap.domains.dns.setHosts (/support/api/methods/domains-dns/set-hosts/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import phonenumbers

# setHosts: "TTL[1..n] ... Possible values: any value between 60 to 60000"; default 1800.
TTL_MIN, TTL_MAX, TTL_DEFAULT = 60, 60000, 1800
MX_PREF_DEFAULT = 10
# Record types the contract offers that setHosts accepts (it lists A, AAAA, ALIAS, CAA,
# CNAME, MX, MXE, NS, TXT, URL, URL301, FRAME). SRV is not among them: Namecheap's API
# cannot set SRV records, so those are refused before anything is sent.
HOST_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "NS"})
# The four contacts create asks for, by their field prefix.
CONTACT_ROLES = ("Registrant", "Tech", "Admin", "AuxBilling")


class FieldRefused(ValueError):
    """A value Namecheap's API cannot take, with the payload field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def split_domain(domain: str) -> tuple[str, str]:
    """`example.co.uk` -> (`example`, `co.uk`): what setHosts calls SLD and TLD.

    The service handles registered domains only, whose first label is the one registered
    under the TLD; splitting at the last dot would send `example.co` / `uk` and fail.
    """
    sld, _, tld = domain.partition(".")
    return sld, tld


def namecheap_phone(e164: str, *, field: str) -> str:
    """E.164 `+4930901820` -> `+49.30901820`, the `+NNN.NNNNNNNNNN` Namecheap documents.

    The country calling code is 1-3 digits and prefix-free, so only the ITU table (in
    phonenumbers) can tell where it ends.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise FieldRefused(field, "Not an E.164 phone number.") from exc
    national = phonenumbers.national_significant_number(number)
    if not number.country_code or not national:
        raise FieldRefused(field, "Not an E.164 phone number.")
    return f"+{number.country_code}.{national}"


def contact_fields(role: str, contact: Mapping[str, Any], *, field: str) -> dict[str, str]:
    """One contact as create's `<Role>FirstName`, `<Role>Address1`... fields."""
    address = contact["address"]
    fields = {
        f"{role}FirstName": contact["first_name"],
        f"{role}LastName": contact["last_name"],
        f"{role}Address1": address["line1"],
        f"{role}City": address["city"],
        f"{role}StateProvince": address["region"],
        f"{role}PostalCode": address["postal_code"],
        f"{role}Country": address["country"],
        f"{role}Phone": namecheap_phone(contact["phone"], field=f"{field}.phone"),
        f"{role}EmailAddress": contact["email"],
    }
    if address.get("line2"):
        fields[f"{role}Address2"] = address["line2"]
    if contact.get("organization"):
        fields[f"{role}OrganizationName"] = contact["organization"]
    return fields


def registration_fields(payload: Mapping[str, Any], operator: Mapping[str, Any]) -> dict[str, str]:
    """create's contacts: the registrant from the client's form, the technical,
    administrative and billing contacts from the operator (DOMAINS_OPERATOR_CONTACT)."""
    fields = contact_fields("Registrant", payload["registrant_contact"], field="registrant_contact")
    for role in CONTACT_ROLES[1:]:
        fields.update(contact_fields(role, operator, field="DOMAINS_OPERATOR_CONTACT"))
    return fields


def host_fields(
    records: Sequence[Mapping[str, Any]], kept: Sequence[Mapping[str, str]], email_type: str = ""
) -> dict[str, str]:
    """setHosts' numbered HostName/RecordType/Address/TTL/MXPref fields.

    setHosts replaces every host record of the domain, while set_dns replaces only the types
    it is given: `kept` are the domain's current hosts (getHosts) of the other types, sent
    back unchanged. EmailType=MX when there are MX records (without it Namecheap ignores
    them); otherwise the domain's current mail setting (`email_type`) is kept.
    """
    for index, record in enumerate(records):
        if record["type"] not in HOST_TYPES:
            raise FieldRefused(
                f"records.{index}.type", f"Namecheap's API cannot set {record['type']} records."
            )
        ttl = record.get("ttl") or TTL_DEFAULT
        if not TTL_MIN <= ttl <= TTL_MAX:
            raise FieldRefused(
                f"records.{index}.ttl", f"Namecheap takes a TTL of {TTL_MIN}-{TTL_MAX} s."
            )
    hosts = [*kept, *(_host(record) for record in records)]
    fields: dict[str, str] = {}
    for number, host in enumerate(hosts, start=1):
        fields.update({f"{name}{number}": value for name, value in host.items()})
    if any(host["RecordType"] == "MX" for host in hosts):
        fields["EmailType"] = "MX"
    elif email_type and email_type != "MX":
        fields["EmailType"] = email_type
    return fields


def _host(record: Mapping[str, Any]) -> dict[str, str]:
    host = {
        "HostName": record["name"],
        "RecordType": record["type"],
        "Address": record["data"],
        "TTL": str(record.get("ttl") or TTL_DEFAULT),
    }
    if record["type"] == "MX":
        host["MXPref"] = str(record.get("priority") or MX_PREF_DEFAULT)
    return host


def kept_hosts(current: list[Mapping[str, str]], replaced_types: set[str]) -> list[dict[str, str]]:
    """The current hosts (getHosts' `<host Name Type Address MXPref TTL>` attributes) whose
    type set_dns does not replace, as setHosts fields."""
    kept = []
    for host in current:
        if host["Type"] in replaced_types:
            continue
        fields = {
            "HostName": host["Name"],
            "RecordType": host["Type"],
            "Address": host["Address"],
            "TTL": host["TTL"],
        }
        if host["Type"] == "MX":
            fields["MXPref"] = host["MXPref"]
        kept.append(fields)
    return kept


def normalised_records(records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records as set, defaults filled in, as the service answers them."""
    answer = []
    for record in records:
        item: dict[str, Any] = {
            "type": record["type"],
            "name": record["name"],
            "data": record["data"],
            "ttl": record.get("ttl") or TTL_DEFAULT,
        }
        if record["type"] == "MX":
            item["priority"] = record.get("priority") or MX_PREF_DEFAULT
        answer.append(item)
    return answer
