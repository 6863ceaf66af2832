"""Registrar sub-account secrets (RegistrantAccount.account: a shopper id, its password) in
the log filter's mask list, like provider credentials.

Reloaded with the provider credentials (apps.catalog.secret_mask), when an account is saved
or deleted in this process, and added when an account is read for use: a query then, none
per log record.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

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


def _changed(sender: type, **kwargs: Any) -> None:
    transaction.on_commit(registrant_secrets_refresh)


secret_source_register(SOURCE, registrant_secret_values)
post_save.connect(_changed, sender=RegistrantAccount, dispatch_uid="domains-secrets-save")
post_delete.connect(_changed, sender=RegistrantAccount, dispatch_uid="domains-secrets-del")
