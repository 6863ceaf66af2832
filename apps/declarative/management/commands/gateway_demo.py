"""python manage.py gateway_demo: the README's one-command run, offline.

The demo catalog is applied once, on the first start with a new database (one without any
client): every later start keeps what ops changed since. `--reset` (make demo-reset) applies
it again on purpose. The demo key is kept in a file readable by its owner only, since the
database stores only its hash, so every start prints the same working key.
"""

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import Client, ClientApiKey
from apps.declarative.services import ApplyReport, ConfigInvalid, config_apply, config_parse
from apps.integrations.docs.pango import pdf_rendering_problem

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo.yaml"
DEMO_CLIENT = "demo"
CURL = (
    "curl -s -X POST {base_url}/api/v1/services/currency/latest_rates/ "
    '-H "Authorization: Api-Key {key}" -H "Content-Type: application/json" '
    '-d \'{{"base": "EUR", "symbols": ["USD", "GBP"]}}\''
)
KEPT = (
    "{file} was applied on this database's first start and is not applied again: changes "
    "made in the admin or with gateway_apply stay. `make demo-reset` applies it again."
)
APPLIED = (
    "{file} applied (this database's first start; later starts keep what you change, "
    "`make demo-reset` applies it again):"
)
RESET = (
    "{file} applied again: the providers, offerings, routing, plans and clients it lists are "
    "back to its values. What it does not list, the demo key and the admin login are kept."
)


class Command(BaseCommand):
    help = (
        "On a new database, apply fixtures/demo.yaml and create an `admin` superuser with a "
        "random password; reuse (or create) the demo client's API key; print how to try it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file", default=str(DEMO_FILE), help="The catalog to apply (default: %(default)s)."
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the gateway will listen, for the printed links (default: %(default)s).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Apply the file again even though the database has clients (make demo-reset).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        base_url = options["base_url"].rstrip("/")
        key_file = Path(settings.GATEWAY_DEMO_KEY_FILE) if settings.GATEWAY_DEMO_KEY_FILE else None
        with transaction.atomic():
            first_start = not Client.objects.exists()
            report = self._apply(path) if first_start or options["reset"] else None
            client = Client.objects.filter(slug=DEMO_CLIENT).first()
            key = demo_key(client=client, key_file=key_file) if client else None
            admin_password = self._create_admin()

        shown = _shown(path)
        if report is None:
            self.stdout.write(KEPT.format(file=shown))
        else:
            self.stdout.write((APPLIED if first_start else RESET).format(file=shown))
            for line in report.summary_lines():
                self.stdout.write(line)
        self.stdout.write("")
        self._print_key(key, key_file)
        self._print_admin(admin_password, base_url)
        if key:
            self.stdout.write("")
            self.stdout.write(f"With the server running on {base_url}, try:")
            self.stdout.write(CURL.format(key=key, base_url=base_url))
        problem = pdf_rendering_problem()
        if problem:
            self.stderr.write(problem)

    def _apply(self, path: Path) -> ApplyReport:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            report = config_apply(document=config_parse(text=text, source=str(path)))
        except ConfigInvalid as invalid:
            raise CommandError(f"{invalid}\nnothing was applied.") from invalid
        if not Client.objects.filter(slug=DEMO_CLIENT).exists():
            raise CommandError(f"{path} defines no client {DEMO_CLIENT!r}")
        return report

    def _print_key(self, key: str | None, key_file: Path | None) -> None:
        if key is None:
            self.stdout.write(
                f"No client {DEMO_CLIENT!r} (deleted?), so no demo key: `make demo-reset` "
                "brings it back, or create a key for another client in the admin."
            )
        elif key_file is None:
            self.stdout.write(f"API key for client {DEMO_CLIENT!r} (shown only once): {key}")
        else:
            self.stdout.write(
                f"API key for client {DEMO_CLIENT!r}: {key}  (kept in {_shown(key_file)}, "
                "readable by you only; revoke it in the admin and the next start makes a new one)"
            )

    def _print_admin(self, password: str | None, base_url: str) -> None:
        username = _superuser_name()
        if password:
            self.stdout.write(f"Admin login: admin / {password}  ({base_url}/admin/)")
        elif username:
            self.stdout.write(
                f"Admin login: {username}, with the password printed on the first start "
                f"({base_url}/admin/)."
            )
        else:
            return
        self.stdout.write(
            f"  To set a new password: {_python()} manage.py changepassword {username}"
        )

    def _create_admin(self) -> str | None:
        """A superuser `admin` with a random password, unless any superuser exists."""
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return None
        if users.objects.filter(username="admin").exists():
            self.stderr.write("A user `admin` exists but is no superuser; not creating one.")
            return None
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username="admin", email="", password=password)
        return password


def demo_key(*, client: Client, key_file: Path | None) -> str:
    """The key kept in `key_file` while it still works for `client`; else a new one (kept)."""
    if key_file is not None:
        try:
            kept = key_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            kept = ""
        if kept and _works_for(kept, client):
            key_file.chmod(0o600)
            return kept
    _, key = ClientApiKey.objects.create_key(client=client, name="demo")
    if key_file is not None:
        _write_owner_only(key_file, key)
    return key


def _works_for(key: str, client: Client) -> bool:
    try:
        found = ClientApiKey.objects.get_from_key(key)
    except ClientApiKey.DoesNotExist:
        return False
    # get_from_key skips revoked keys, not expired ones: an expired key would be printed
    # as working and then answered 401.
    return (
        isinstance(found, ClientApiKey) and found.client_id == client.pk and not found.has_expired
    )


def _write_owner_only(path: Path, text: str) -> None:
    """Write `text` to a new file of mode 0600 and move it over `path` in one step."""
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(partial, path)


def _superuser_name() -> str:
    users = get_user_model()
    first = users.objects.filter(is_superuser=True).order_by("pk").first()
    return first.get_username() if first else ""


def _shown(path: Path) -> str:
    """`path` relative to the project when it is inside it (as `make run` users see it)."""
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def _python() -> str:
    executable = Path(sys.executable)
    try:
        return str(executable.relative_to(Path(settings.BASE_DIR)))
    except ValueError:
        return "python"
