"""Tell the log filter and the attempt records which credential values to mask.

Called when this process builds its catalog snapshot (any change to the catalog, in any
process, leads there), when a provider is saved here, and by the health checks: one query
then, none per log record.
"""

from __future__ import annotations

from apps.catalog.models import Provider
from apps.core.fields import UnreadableSecrets
from apps.core.redaction import known_secrets_set


def provider_secrets_refresh() -> None:
    """Load every provider's decrypted credential values into apps.core.redaction."""
    values: list[object] = []
    for credentials in Provider.objects.values_list("credentials", flat=True):
        if isinstance(credentials, dict) and not isinstance(credentials, UnreadableSecrets):
            values.extend(credentials.values())
    known_secrets_set(values)
