"""python manage.py credentials export|import|rotate: move providers' secrets safely.

  credentials export --passphrase P FILE   every provider's credentials into FILE, encrypted
                                           under the passphrase (scrypt + AES-256-GCM)
  credentials import --passphrase P FILE   those credentials back into the encrypted fields
                                           (replacing what the named providers store)
  credentials rotate                       re-encrypt every stored secret under the newest
                                           FIELD_ENCRYPTION_KEY (the first of the list)

The passphrase may come from --passphrase, the CREDENTIALS_PASSPHRASE environment variable,
or a prompt. A wrong passphrase (or a damaged file) is refused before anything changes;
import checks every provider and credential name first and writes all or nothing.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from encrypted_fields.fields import EncryptedTextField

from apps.catalog.models import Provider
from apps.catalog.registry import registry
from apps.catalog.services import catalog_cache_invalidate, provider_set_credentials
from apps.core.fields import UnreadableSecrets

MAGIC = b"service-gateway-credentials\n"
FORMAT_VERSION = 1
# scrypt at 2**15 x 8: ~32 MiB and a tenth of a second per guess (RFC 7914's interactive
# setting, OWASP's minimum); recorded in the file so later versions may raise it.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key(passphrase: str, header: dict[str, Any]) -> bytes:
    kdf = Scrypt(
        salt=base64.b64decode(header["salt"]),
        length=32,
        n=header["n"],
        r=header["r"],
        p=header["p"],
    )
    return kdf.derive(passphrase.encode())


def _aad(header: dict[str, Any]) -> bytes:
    # The header is authenticated with the data: its KDF settings cannot be swapped.
    return MAGIC + json.dumps(header, sort_keys=True).encode()


def seal(payload: dict[str, Any], passphrase: str) -> bytes:
    header: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": _b64(secrets.token_bytes(16)),
        "cipher": "AES-256-GCM",
        "nonce": _b64(secrets.token_bytes(12)),
    }
    ciphertext = AESGCM(_key(passphrase, header)).encrypt(
        base64.b64decode(header["nonce"]), json.dumps(payload).encode(), _aad(header)
    )
    body = {"header": header, "ciphertext": _b64(ciphertext)}
    return MAGIC + json.dumps(body, indent=1).encode() + b"\n"


def unseal(data: bytes, passphrase: str) -> dict[str, Any]:
    if not data.startswith(MAGIC):
        raise CommandError("Not a credentials file written by `credentials export`.")
    try:
        body = json.loads(data[len(MAGIC) :])
        header = body["header"]
        ciphertext = base64.b64decode(body["ciphertext"])
        nonce = base64.b64decode(header["nonce"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"The credentials file is damaged: {exc}.") from exc
    if header.get("version") != FORMAT_VERSION or header.get("kdf") != "scrypt":
        raise CommandError(f"Unsupported credentials file version {header.get('version')!r}.")
    try:
        plain = AESGCM(_key(passphrase, header)).decrypt(nonce, ciphertext, _aad(header))
    except InvalidTag:
        raise CommandError(
            "Wrong passphrase, or the file was altered: nothing was changed."
        ) from None
    payload: dict[str, Any] = json.loads(plain)
    return payload


class Command(BaseCommand):
    help = "Export, import or re-encrypt the providers' stored credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("export", "write every provider's credentials to FILE, passphrase-encrypted"),
            ("import", "read credentials from FILE into the providers' encrypted fields"),
        ):
            action = actions.add_parser(name, help=text)
            action.add_argument("file", metavar="FILE")
            action.add_argument("--passphrase", help="or CREDENTIALS_PASSPHRASE, or a prompt")
        actions.add_parser("rotate", help="re-encrypt every stored secret under the newest key")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "rotate":
            self.rotate()
            return
        passphrase = self.passphrase(options.get("passphrase"), confirm=action == "export")
        if action == "export":
            self.export(Path(options["file"]), passphrase)
        else:
            self.import_(Path(options["file"]), passphrase)

    def passphrase(self, given: str | None, *, confirm: bool) -> str:
        passphrase = given or os.environ.get("CREDENTIALS_PASSPHRASE")
        if not passphrase:
            passphrase = getpass.getpass("Passphrase: ")
            if confirm and getpass.getpass("Again: ") != passphrase:
                raise CommandError("The passphrases differ.")
        if len(passphrase) < 12:
            raise CommandError("Use a passphrase of at least 12 characters.")
        return passphrase

    def export(self, path: Path, passphrase: str) -> None:
        providers = list(Provider.objects.order_by("slug"))
        unreadable = [p.slug for p in providers if isinstance(p.credentials, UnreadableSecrets)]
        if unreadable:
            raise CommandError(
                "No configured FIELD_ENCRYPTION_KEY decrypts the credentials of "
                f"{', '.join(unreadable)}; restore the old key first. Nothing was written."
            )
        payload = {
            "exported_at": timezone.now().isoformat(),
            "providers": {p.slug: dict(p.credentials) for p in providers if p.credentials},
        }
        path.write_bytes(seal(payload, passphrase))
        path.chmod(0o600)
        self.stdout.write(
            f"Wrote the credentials of {len(payload['providers'])} provider(s) to {path}."
        )

    def import_(self, path: Path, passphrase: str) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        incoming = unseal(data, passphrase).get("providers", {})
        providers = Provider.objects.in_bulk(list(incoming), field_name="slug")
        problems = []
        for slug, credentials in incoming.items():
            provider = providers.get(slug)
            if provider is None:
                problems.append(f"{slug}: no such provider")
                continue
            adapter = registry.adapters.get(provider.adapter)
            allowed = adapter.credential_fields if adapter else ()
            for name, value in credentials.items():
                if name not in allowed:
                    problems.append(
                        f"{slug}: {provider.adapter} has no credential {name!r} "
                        f"(it takes {', '.join(allowed) or 'none'})"
                    )
                elif not isinstance(value, str):
                    problems.append(f"{slug}: {name} is not a string")
        if problems:
            raise CommandError("Nothing was imported:\n  " + "\n  ".join(problems))
        with transaction.atomic():
            for slug, credentials in incoming.items():
                provider_set_credentials(provider=providers[slug], credentials=credentials)
            catalog_cache_invalidate()
        self.stdout.write(f"Imported the credentials of {len(incoming)} provider(s).")

    def rotate(self) -> None:
        rotated = unreadable = 0
        with transaction.atomic():
            for model in apps.get_models():
                for field in model._meta.concrete_fields:
                    if not isinstance(field, EncryptedTextField):
                        continue
                    done, failed = _rotate_column(model, field)
                    rotated += done
                    unreadable += failed
                    if failed:
                        self.stderr.write(
                            f"{model._meta.label}.{field.name}: {failed} value(s) no configured "
                            "key decrypts; left as they are."
                        )
            catalog_cache_invalidate()
        self.stdout.write(f"Re-encrypted {rotated} stored secret(s) under the newest key.")
        if unreadable:
            raise CommandError(f"{unreadable} secret(s) could not be decrypted.")


def _rotate_column(model: Any, field: Any) -> tuple[int, int]:
    """Re-encrypt one column's tokens as they are stored (no decoding of the secrets)."""
    quote = connection.ops.quote_name
    table, column, pk = (
        quote(model._meta.db_table),
        quote(field.column),
        quote(model._meta.pk.column),
    )
    done = failed = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> ''"  # noqa: S608
            + (" FOR UPDATE" if connection.features.has_select_for_update else "")
        )
        for row_pk, token in cursor.fetchall():
            try:
                fresh = field.f.rotate(token.encode()).decode()
            except InvalidToken:
                failed += 1
                continue
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                [fresh, row_pk],
            )
            done += 1
    return done, failed
