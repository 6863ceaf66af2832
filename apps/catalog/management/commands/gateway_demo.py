"""python manage.py gateway_demo: the README's one-command run, offline."""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import Client, ClientApiKey
from apps.catalog.declarative import ConfigInvalid, config_apply, config_parse

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo.yaml"
DEMO_CLIENT = "demo"
CURL = (
    "curl -s -X POST {base_url}/api/v1/services/currency/latest_rates/ "
    '-H "Authorization: Api-Key {key}" -H "Content-Type: application/json" '
    '-d \'{{"base": "EUR", "symbols": ["USD", "GBP"]}}\''
)


class Command(BaseCommand):
    help = (
        "Apply fixtures/demo.yaml, create an API key for the demo client and, when there is "
        "no superuser, an `admin` superuser with a random password; print how to try it."
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

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        base_url = options["base_url"].rstrip("/")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            with transaction.atomic():
                report = config_apply(document=config_parse(text=text, source=str(path)))
                client = Client.objects.filter(slug=DEMO_CLIENT).first()
                if client is None:
                    raise CommandError(f"{path} defines no client {DEMO_CLIENT!r}")
                _, key = ClientApiKey.objects.create_key(client=client, name="demo")
                admin_password = self._create_admin()
        except ConfigInvalid as invalid:
            raise CommandError(f"{invalid}\nnothing was applied.") from invalid

        for line in report.summary_lines():
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(f"API key for client {DEMO_CLIENT!r} (shown only once): {key}")
        if admin_password:
            self.stdout.write(f"Admin login: admin / {admin_password}  ({base_url}/admin/)")
        else:
            self.stdout.write("Admin login: a superuser exists already; use its login.")
        self.stdout.write("")
        self.stdout.write(f"With the server running on {base_url}, try:")
        self.stdout.write(CURL.format(key=key, base_url=base_url))

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
