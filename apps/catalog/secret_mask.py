"""Tell the log filter and the attempt records which credential values to mask.

Called when this process builds its catalog snapshot (any change to the catalog, in any
process, leads there), when a provider is saved here, and by the health checks: a query per
kind of secret then, none per log record. Other apps holding secrets (a registrar's
sub-accounts) register a loader here and are reloaded at the same moments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from apps.catalog.models import Provider
from apps.core.fields import UnreadableSecrets
from apps.core.redaction import PROVIDERS, known_secrets_set

SecretLoader = Callable[[], Iterable[object]]
_loaders: dict[str, SecretLoader] = {}


def secret_source_register(source: str, load: SecretLoader) -> None:
    """Have `load()` (every secret value of one kind, one query) masked as well; an app
    calls it from its AppConfig.ready()."""
    _loaders[source] = load


def provider_secrets_refresh() -> None:
    """Load every provider's decrypted credential values, and those of every registered
    source, into apps.core.redaction."""
    values: list[object] = []
    for credentials in Provider.objects.values_list("credentials", flat=True):
        if isinstance(credentials, dict) and not isinstance(credentials, UnreadableSecrets):
            values.extend(credentials.values())
    known_secrets_set(values, source=PROVIDERS)
    for source, load in _loaders.items():
        known_secrets_set(load(), source=source)
