"""python manage.py create_staff_token USERNAME [--days N]"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import InvalidRequest
from apps.ledger.staff_tokens import staff_token_create


class Command(BaseCommand):
    help = (
        "Create a ledger API token for a finance staff user and print it once; only its "
        "digest is stored, and it expires."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="An active staff user in the finance group.")
        parser.add_argument(
            "--days",
            type=int,
            default=settings.GATEWAY_STAFF_TOKEN_TTL_DAYS,
            help="Days until the token stops working (default: GATEWAY_STAFF_TOKEN_TTL_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"unknown user {options['username']!r}")
        days: int = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1")
        try:
            stored, token = staff_token_create(user=user, ttl=timedelta(days=days))
        except InvalidRequest as exc:
            raise CommandError(exc.detail) from exc
        # The token alone on stdout, so scripts can capture it; the notice goes to stderr.
        self.stdout.write(token)
        self.stderr.write(
            f"Ledger API token for {user.get_username()}, expires "
            f"{stored.expiry:%Y-%m-%d %H:%M %Z}. It is shown only this once: send it as "
            "'Authorization: Token <token>'."
        )
