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


def maskable(values: Iterable[object]) -> tuple[str, ...]:
    """The values worth masking, longest first (a secret containing another goes whole)."""
    kept = {v for v in values if isinstance(v, str) and len(v) >= SECRET_MIN_LENGTH}
    return tuple(sorted(kept, key=len, reverse=True))


def known_secrets_set(values: Iterable[object]) -> None:
    """Replace the credential values this process masks (the catalog calls it)."""
    global _known
    _known = maskable(values)


def known_secrets() -> tuple[str, ...]:
    return _known


def mask(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret (by default every known one) replaced by a marker."""
    for secret in known_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
