"""`manage.py credentials`: export to a passphrase-encrypted file, import it back, rotate."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.catalog.models import Provider
from apps.core.fields import field_fernet

pytestmark = pytest.mark.django_db

PASSPHRASE = "correct horse battery staple"


def set_credentials(slug: str, **credentials: str) -> None:
    provider = Provider.objects.get(slug=slug)
    provider.credentials = credentials
    provider.save()


def credentials_of(slug: str) -> dict[str, str]:
    return dict(Provider.objects.get(slug=slug).credentials)


def test_export_then_import_restores_every_providers_credentials(tmp_path: Path):
    # given
    set_credentials("fixer", access_key="fixer-secret")
    set_credentials("openexchangerates", app_id="oxr-secret")
    path = tmp_path / "creds.enc"
    call_command("credentials", "export", "--passphrase", PASSPHRASE, str(path))
    set_credentials("fixer", access_key="changed")
    set_credentials("openexchangerates")

    # when
    call_command("credentials", "import", "--passphrase", PASSPHRASE, str(path))

    # then
    assert credentials_of("fixer") == {"access_key": "fixer-secret"}
    assert credentials_of("openexchangerates") == {"app_id": "oxr-secret"}
    assert b"fixer-secret" not in path.read_bytes()
    assert path.stat().st_mode & 0o077 == 0


def test_a_wrong_passphrase_is_refused_and_changes_nothing(tmp_path: Path):
    # given
    set_credentials("fixer", access_key="fixer-secret")
    path = tmp_path / "creds.enc"
    call_command("credentials", "export", "--passphrase", PASSPHRASE, str(path))
    set_credentials("fixer", access_key="current")

    # when
    with pytest.raises(CommandError, match="Wrong passphrase") as refused:
        call_command("credentials", "import", "--passphrase", "not the passphrase", str(path))

    # then
    assert refused.value.returncode == 1
    assert credentials_of("fixer") == {"access_key": "current"}


def test_an_altered_file_is_refused(tmp_path: Path):
    # given
    path = tmp_path / "creds.enc"
    call_command("credentials", "export", "--passphrase", PASSPHRASE, str(path))
    data = bytearray(path.read_bytes())
    data[-10] ^= 1  # inside the base64 ciphertext

    # when / then
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError):
        call_command("credentials", "import", "--passphrase", PASSPHRASE, str(path))


def test_an_unknown_credential_name_is_refused_and_nothing_is_imported(tmp_path: Path):
    # given a file naming a credential fixer's adapter does not take
    set_credentials("fixer", access_key="fixer-secret", api_token="not-a-fixer-field")
    set_credentials("openexchangerates", app_id="oxr-secret")
    path = tmp_path / "creds.enc"
    call_command("credentials", "export", "--passphrase", PASSPHRASE, str(path))
    set_credentials("fixer", access_key="current")
    set_credentials("openexchangerates", app_id="current")

    # when
    with pytest.raises(CommandError, match="api_token"):
        call_command("credentials", "import", "--passphrase", PASSPHRASE, str(path))

    # then
    assert credentials_of("fixer") == {"access_key": "current"}
    assert credentials_of("openexchangerates") == {"app_id": "current"}


def test_rotate_reencrypts_every_secret_under_the_newest_key(settings):
    # given secrets stored under the old key
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    set_credentials("fixer", access_key="fixer-secret")
    new_key = "bmV3LWtleS1mb3ItdGhlLXJvdGF0aW9uLXRlc3QhIT0="
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    field = Provider._meta.get_field("credentials")
    field.__dict__.pop("f", None)  # the field caches its keys

    # when
    try:
        call_command("credentials", "rotate")

        # then: readable with the new key alone
        settings.FIELD_ENCRYPTION_KEYS = [new_key]
        field.__dict__.pop("f", None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT credentials FROM catalog_provider WHERE slug = 'fixer'")
            (token,) = cursor.fetchone()
        assert b"fixer-secret" in field_fernet().decrypt(token.encode())
        assert credentials_of("fixer") == {"access_key": "fixer-secret"}
    finally:
        field.__dict__.pop("f", None)
