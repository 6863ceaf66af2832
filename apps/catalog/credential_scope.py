"""Which host and adapter a provider's stored credentials belong to.

Ops may write credentials but never read them back. Yet a provider's adapter sends its
secrets to its base_url, so pointing base_url (or the adapter) somewhere else would hand the
stored secrets to whoever answers there. Hence the rule, enforced by Provider.save() for
every path (admin, gateway_apply, credentials import, code):

    A stored secret is never written back under another scope (adapter, scheme, host, port).

A save that changes the scope drops every stored value it would carry over: the secrets as
read from the row (or edited in place, or left unwritten by update_fields). Secrets assigned
anew since the row was read are supplied for the new scope and kept, and
provider_set_credentials after the move stores any values at all. Changing only the path on
the same host keeps the credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from apps.core.fields import UnreadableSecrets

# Stored in the history row's change reason (at most 100 characters there).
CREDENTIALS_DROPPED_REASON = "credentials cleared: base_url host or adapter changed"


def credentials_scope(adapter: str, base_url: str) -> str:
    """`adapter scheme://netloc`: what the stored credentials were entered for.

    The whole netloc is compared (userinfo, host, port, as written), so any change of where
    the adapter connects counts, and so does a spelling of the same host ("h" and "h:443"):
    a needless re-entry is the safe mistake. A base_url without a netloc is compared whole.
    """
    parts = urlsplit(base_url.strip())
    if not parts.netloc:
        return f"{adapter} {base_url.strip().lower()}"
    return f"{adapter} {parts.scheme.lower()}://{parts.netloc.lower()}"


def has_secrets(credentials: Mapping[str, str]) -> bool:
    """Anything stored, readable or not (unreadable secrets keep their token)."""
    if isinstance(credentials, UnreadableSecrets):
        return bool(credentials.token)
    return bool(credentials)


def credentials_not_carried(
    *, stored: Mapping[str, str], proposed: Mapping[str, str]
) -> dict[str, str]:
    """`proposed` without any value that was stored: what may go to a new scope.

    Unreadable secrets carried over are dropped whole. Values compared by value, not name,
    so that no stored secret reaches the new host under any credential name.
    """
    if isinstance(proposed, UnreadableSecrets):
        return {}
    old_values = set() if isinstance(stored, UnreadableSecrets) else set(stored.values())
    return {name: value for name, value in proposed.items() if value not in old_values}


def credentials_after_move(
    *,
    stored: Mapping[str, Any],
    adapter: str,
    base_url: str,
    proposed: Mapping[str, str],
    supplied: bool,
) -> dict[str, str] | None:
    """What a save may keep of the secrets it writes, when it must drop some; else None.

    `stored` is the row as stored (adapter, base_url, credentials); adapter and base_url are
    the row as the save leaves it, `proposed` the secrets it would write, `supplied` whether
    they were given with this save rather than read from the row.
    """
    moved = credentials_scope(adapter, base_url) != credentials_scope(
        stored["adapter"], stored["base_url"]
    )
    if not moved or supplied or not has_secrets(proposed):
        return None
    kept = credentials_not_carried(stored=stored["credentials"], proposed=proposed)
    # kept is a subset of proposed; unreadable secrets are empty but hold their token.
    if len(kept) == len(proposed) and not isinstance(proposed, UnreadableSecrets):
        return None
    return kept
