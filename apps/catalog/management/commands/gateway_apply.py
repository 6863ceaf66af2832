"""python manage.py gateway_apply FILE.yaml [--dry-run]"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.catalog.declarative import ConfigInvalid, config_apply, config_parse


class Command(BaseCommand):
    help = (
        "Upsert providers, offerings, routing, plans and clients from one YAML file. "
        "All or nothing; applying the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The YAML file, e.g. fixtures/demo.yaml.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and report what would change, without saving anything.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            report = config_apply(
                document=config_parse(text=text, source=options["file"]),
                dry_run=options["dry_run"],
            )
        except ConfigInvalid as invalid:
            count = len(invalid.issues)
            raise CommandError(
                f"{invalid}\n{count} error{'s' if count != 1 else ''}; nothing was applied."
            ) from invalid
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        for line in report.summary_lines():
            self.stdout.write(line)
