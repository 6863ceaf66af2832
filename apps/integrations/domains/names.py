"""Domain names as the service stores and sends them: lower-case IDNA (punycode) ASCII."""

import re

import idna

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
MAX_LENGTH = 253


class NotADomainName(ValueError):
    pass


def normalise_domain(value: str) -> str:
    """`Bücher.Example` -> `xn--bcher-kva.example`; raises NotADomainName with the reason.

    UTS 46 mapping lower-cases and folds what a user types (as browsers do), so the same
    name is stored once whatever its spelling.
    """
    text = value.strip().rstrip(".")
    if not text:
        raise NotADomainName("A domain name is required.")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise NotADomainName(f"Not a valid internationalised domain name: {exc}.") from exc
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise NotADomainName("A domain name needs a top-level domain, e.g. example.com.")
    if len(ascii_name) > MAX_LENGTH:
        raise NotADomainName(f"A domain name has at most {MAX_LENGTH} characters.")
    for label in labels:
        if not _LABEL.match(label):
            raise NotADomainName(
                f"{label!r}: each label has 1-63 letters, digits or hyphens and does not "
                "start or end with a hyphen."
            )
    if not _TLD.match(labels[-1]):
        raise NotADomainName(f"{labels[-1]!r} is not a top-level domain.")
    return ascii_name


def tld_of(domain: str) -> str:
    """The last label: what registrars price and sell by."""
    return domain.rsplit(".", 1)[-1]
