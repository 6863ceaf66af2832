"""python manage.py gateway_dump [--with-secrets]"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.declarative.services import config_dump


class Command(BaseCommand):
    help = (
        "Print the catalog, plans and clients in the gateway_apply format. Provider "
        "credentials are listed by name only, unless --with-secrets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--with-secrets",
            action="store_true",
            help="Include provider credentials in clear text. Keep the output safe.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(config_dump(with_secrets=options["with_secrets"]), ending="")
