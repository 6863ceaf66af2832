"""The ledger partitioned by month on PostgreSQL (issue #15); SQLite keeps one table.

Design (docs/operations.md, "The ledger's monthly partitions"):

- `ledger_ledgerentry` becomes a table partitioned by RANGE of created_at, one partition per
  accounting month (ACCOUNTING_TIME_ZONE), named ledger_ledgerentry_pYYYY_MM, and a DEFAULT
  partition so that no insert is ever refused. This migration creates the partitions of
  every month from the oldest row to LEDGER_PARTITIONS_AHEAD months from now; Celery beat
  (ledger.partitions_maintain) keeps creating them ahead.
- The database's primary key becomes (id, created_at): PostgreSQL requires every unique index
  of a partitioned table to hold the partition key. Django keeps `id` as its primary key;
  ids still come from one sequence (the old identity's position carried over), so they stay
  unique in practice.
- For the same reason nothing can be unique on `reverses` alone, and no foreign key can point
  AT the ledger (from LedgerRedaction.entry, messaging's SentMessage.ledger_entry, or
  `reverses` to its own table): those become plain columns (db_constraint=False; messaging
  0005 changes its state). "A row is reversed at most once" moves to a small
  unpartitioned table, LedgerReversal, whose primary key is the reversed row's id; the
  reversal writes it in its own transaction. Existing reversals are copied into it.
- Every index of LedgerEntry.Meta is kept as a partitioned index of the same name.

The move (apps.ledger.partition_move) keeps writers waiting only for its last step: the rows
are copied and indexed first, then the rows written meanwhile, under a lock, before the swap.
Not reversible on PostgreSQL. On SQLite only the state changes (and LedgerReversal is made):
its table keeps its unique `reverses` and its foreign keys.
"""

import sys

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from apps.ledger.partition_move import table_partition

CLAIMS = (
    "INSERT INTO ledger_ledgerreversal (reversed_entry_id, reversal_id, created_at) "
    "SELECT reverses_id, id, created_at FROM ledger_ledgerentry "
    # reversals are refunds or adjustments: ledger_by_kind holds them, not the calls
    "WHERE kind <> 'charge' AND reverses_id IS NOT NULL "
    "ON CONFLICT DO NOTHING"
)


def _say(line: str) -> None:
    sys.stdout.write(f"\n  {line}")
    sys.stdout.flush()


def partition_ledger(apps, schema_editor):  # type: ignore[no-untyped-def]
    db = schema_editor.connection
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(CLAIMS)
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM ledger_ledgerentry)")
        (has_rows,) = cursor.fetchone()
    table_partition(
        db,
        table="ledger_ledgerentry",
        ahead=settings.LEDGER_PARTITIONS_AHEAD,
        in_swap=lambda cursor: cursor.execute(CLAIMS),
        say=_say if has_rows else lambda line: None,
    )


def refuse_unpartition(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        raise RuntimeError("ledger 0014 partitioned the ledger; it cannot be undone in place.")


class Migration(migrations.Migration):
    atomic = False  # the move's steps are transactions of their own

    dependencies = [
        ("ledger", "0013_ledger_provider_failures_index"),
        # Its foreign key to the ledger must exist before the move, which drops it.
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerReversal",
            fields=[
                ("reversed_entry_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("reversal_id", models.BigIntegerField(unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="reverses",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        help_text="The row this one corrects.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversed_by",
                        to="ledger.ledgerentry",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerredaction",
                    name="entry",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="redactions",
                        to="ledger.ledgerentry",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="kind",
                    field=models.CharField(
                        choices=[
                            ("charge", "Charge"),
                            ("refund", "Refund"),
                            ("topup", "Top-up"),
                            ("adjustment", "Adjustment"),
                            ("carried", "Carried forward"),
                        ],
                        default="charge",
                        max_length=20,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(partition_ledger, refuse_unpartition, elidable=False),
    ]
