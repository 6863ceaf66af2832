"""Encrypted provider credentials: readable with every configured key, never lost."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.catalog.models import Provider
from apps.core.fields import UnreadableSecrets

pytestmark = pytest.mark.django_db


def raw_credentials(provider: Provider) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM catalog_provider WHERE id = %s", [provider.pk])
        return cursor.fetchone()[0]


def test_secrets_written_under_an_old_key_are_read_after_rotation(settings):
    # given a secret stored under the current key
    provider = Provider.objects.get(slug="sandbox")
    provider.credentials = {"access_key": "before-rotation"}
    provider.save()

    # when a new key is put first and the old one kept behind it
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    field = Provider._meta.get_field("credentials")
    field.__dict__.pop("f", None)
    try:
        # then the old secret still reads, and a new save uses the new key
        provider = Provider.objects.get(pk=provider.pk)
        assert provider.credentials == {"access_key": "before-rotation"}
        provider.save()
        new_only = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
        assert b"before-rotation" in new_only.decrypt(raw_credentials(provider).encode())
    finally:
        field.__dict__.pop("f", None)


def test_secrets_no_key_can_read_are_flagged_and_survive_a_save(settings):
    # given a secret stored under a key that is then dropped
    provider = Provider.objects.get(slug="sandbox")
    provider.credentials = {"access_key": "keep-me"}
    provider.save()
    stored = raw_credentials(provider)
    original_keys = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    field = Provider._meta.get_field("credentials")
    field.__dict__.pop("f", None)
    try:
        # when the row is read and saved (an unrelated edit)
        provider = Provider.objects.get(pk=provider.pk)
        assert isinstance(provider.credentials, UnreadableSecrets)
        assert provider.credentials == {}
        provider.timeout_ms = 1234
        provider.save()

        # then the stored token is untouched, so restoring the key recovers the secret
        assert raw_credentials(provider) == stored
    finally:
        settings.FIELD_ENCRYPTION_KEYS = original_keys
        field.__dict__.pop("f", None)
    assert Provider.objects.get(pk=provider.pk).credentials == {"access_key": "keep-me"}
