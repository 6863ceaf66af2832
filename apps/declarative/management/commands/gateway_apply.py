"""python manage.py gateway_apply FILE.yaml [--dry-run | --diff | --check] [--prune]"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.declarative.services import (
    ConfigDocument,
    ConfigInvalid,
    config_apply,
    config_diff,
    config_parse,
)

# --check's exit status when the database differs from the file (1 stays "could not check").
DRIFTED = 2


class Command(BaseCommand):
    help = (
        "Upsert providers, offerings, routing, plans and clients from one YAML file. "
        "All or nothing; applying the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The YAML file, e.g. fixtures/demo.yaml.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and report what would change, without saving anything.",
        )
        mode.add_argument(
            "--diff",
            action="store_true",
            help="Print each change applying the file would make (field: old -> new; secrets "
            "masked), without saving anything.",
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help=f"Like --diff, for CI: exit with status {DRIFTED} when the database differs "
            "from the file, 0 when they match.",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also disable or delete what the file's sections no longer list: providers, "
            "offerings and clients are disabled, routing policies reset to the defaults, "
            "plans no client is on deleted.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            document = config_parse(text=text, source=options["file"])
            if options["diff"] or options["check"]:
                self._compare(document, prune=options["prune"], check=options["check"])
                return
            report = config_apply(
                document=document, dry_run=options["dry_run"], prune=options["prune"]
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

    def _compare(self, document: ConfigDocument, *, prune: bool, check: bool) -> None:
        diff = config_diff(document=document, prune=prune)
        for line in diff.lines():
            self.stdout.write(line)
        if check and diff.drifted:
            raise CommandError(
                f"the database has drifted from {document.source}", returncode=DRIFTED
            )
