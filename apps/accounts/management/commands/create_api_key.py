"""python manage.py create_api_key CLIENT [--name NAME] [--expires-days N]"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.accounts.models import Client, ClientApiKey


class Command(BaseCommand):
    help = "Create an API key for a client and print it once; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client", help="The client's slug.")
        parser.add_argument("--name", default="cli", help="A label for the key (default: cli).")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until the key stops working (default: never).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = Client.objects.filter(slug=options["client"]).first()
        if client is None:
            raise CommandError(f"unknown client {options['client']!r}")
        name: str = options["name"].strip()
        if not name or len(name) > 50:
            raise CommandError("--name must be 1 to 50 characters")
        days: int | None = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1")
        expiry = timezone.now() + timedelta(days=days) if days else None
        _, key = ClientApiKey.objects.create_key(client=client, name=name, expiry_date=expiry)
        if not client.is_active:
            self.stderr.write(
                self.style.WARNING(f"client {client.slug!r} is suspended: calls get 403")
            )
        # The key alone on stdout, so scripts can capture it; the notice goes to stderr.
        self.stdout.write(key)
        expires = f", expires {expiry:%Y-%m-%d %H:%M %Z}" if expiry else ""
        self.stderr.write(
            f"API key {name!r} for {client.slug}{expires}. It is shown only this once."
        )
