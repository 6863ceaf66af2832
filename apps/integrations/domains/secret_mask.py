"""Registrar sub-account secrets (RegistrantAccount.account: a shopper id, its password) in
the log filter's mask list, like provider credentials.

Reloaded with the provider credentials (apps.catalog.secret_mask); added when an account is
saved or read for use in this process (no query). Never a query per log record.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from apps.catalog.secret_mask import secret_source_register
from apps.core.fields import UnreadableSecrets
from apps.core.redaction import known_secrets_add, known_secrets_set
from apps.integrations.domains.models import RegistrantAccount

SOURCE = "registrant_accounts"


def registrant_secret_values() -> list[object]:
    values: list[object] = []
    for account in RegistrantAccount.objects.values_list("account", flat=True):
        if isinstance(account, dict) and not isinstance(account, UnreadableSecrets):
            values.extend(account.values())
    return values


def registrant_secrets_refresh() -> None:
    known_secrets_set(registrant_secret_values(), source=SOURCE)


def registrant_secrets_add(account: dict[str, str]) -> None:
    """Mask an account read for use at once: another process may have just created it."""
    known_secrets_add(account.values(), source=SOURCE)


def _saved(sender: type, instance: RegistrantAccount, **kwargs: Any) -> None:
    # Masked at once, with no query: should the transaction roll back, masking a value that
    # was never stored is harmless, and the next full refresh drops it (as it drops deleted
    # accounts' values).
    if isinstance(instance.account, dict) and not isinstance(instance.account, UnreadableSecrets):
        registrant_secrets_add(instance.account)


secret_source_register(SOURCE, registrant_secret_values)
post_save.connect(_saved, sender=RegistrantAccount, dispatch_uid="domains-secrets-save")
