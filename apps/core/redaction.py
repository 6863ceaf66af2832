"""Credentials kept out of text: the values to mask, and masking them.

The catalog tells this module the decrypted credential values of every configured provider
(apps.catalog.secret_mask, whenever the catalog changes); the log filter and the attempt
records mask them. Nothing here reads the database: a log record must not cost a query.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = "[redacted]"
# Shorter values (a region, "true", a port) would mask ordinary words.
SECRET_MIN_LENGTH = 6

_known: tuple[str, ...] = ()
# Each kind of stored secret (provider credentials, registrar sub-accounts...) by name, so
# that reloading one kind keeps the others.
_by_source: dict[str, tuple[str, ...]] = {}
PROVIDERS = "providers"


def maskable(values: Iterable[object]) -> tuple[str, ...]:
    """The values worth masking, longest first (a secret containing another goes whole)."""
    kept = {v for v in values if isinstance(v, str) and len(v) >= SECRET_MIN_LENGTH}
    return tuple(sorted(kept, key=len, reverse=True))


def known_secrets_set(values: Iterable[object], *, source: str = PROVIDERS) -> None:
    """Replace the values of one kind of secret this process masks (the catalog calls it
    for provider credentials; other kinds name their own `source`)."""
    global _known
    _by_source[source] = maskable(values)
    _known = maskable(v for kept in _by_source.values() for v in kept)


def known_secrets_add(values: Iterable[object], *, source: str) -> None:
    """Mask these values too (a secret just read for use), keeping all already known."""
    known_secrets_set([*_by_source.get(source, ()), *values], source=source)


def known_secrets() -> tuple[str, ...]:
    return _known


def mask(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret (by default every known one) replaced by a marker."""
    for secret in known_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
