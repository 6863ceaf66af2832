"""The rollup's monthly level: LedgerMonth (a closed month's days summed again, at three
grains) and LedgerMonthClosed (the months built), so a summary of a long range reads a few
buckets per closed month instead of one per day, client, method, provider, country, status
and channel (issue #18: the all-time summary read all 3.2 million daily buckets at 20 million
rows). The months already closed are built here from the daily level, by the same code as
the beat task `ledger.close_months` (apps.ledger.months); the ledger rows are not read.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

import apps.core.fields
from apps.ledger.months import months_close


def close(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    months_close(
        days=apps.get_model("ledger", "LedgerDay"),
        months=apps.get_model("ledger", "LedgerMonth"),
        closed=apps.get_model("ledger", "LedgerMonthClosed"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_client_webhook_secret"),
        ("ledger", "0014_partition_ledger"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField(help_text="The accounting month's first day.")),
                (
                    "grain",
                    models.CharField(
                        choices=[
                            ("all", "Every dimension"),
                            ("client", "The client only"),
                            ("no_client", "Every dimension but the client"),
                        ],
                        max_length=10,
                    ),
                ),
                ("service", models.CharField(blank=True, max_length=50)),
                ("method", models.CharField(blank=True, max_length=50)),
                ("provider", models.CharField(blank=True, max_length=50)),
                ("country", models.CharField(blank=True, max_length=2)),
                ("status", models.CharField(blank=True, max_length=20)),
                ("channel", models.CharField(blank=True, max_length=10)),
                ("calls", models.BigIntegerField(default=0)),
                (
                    "cost",
                    apps.core.fields.MoneyField(decimal_places=4, default=0, max_digits=20),
                ),
                (
                    "revenue",
                    apps.core.fields.MoneyField(decimal_places=4, default=0, max_digits=20),
                ),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.client",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["grain", "month"], name="ledger_month_by_grain"),
                    models.Index(fields=["client", "month"], name="ledger_month_by_client"),
                ],
            },
        ),
        migrations.CreateModel(
            name="LedgerMonthClosed",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(help_text="The accounting month's first day.", unique=True),
                ),
                (
                    "buckets",
                    models.PositiveIntegerField(default=0, help_text="Its LedgerMonth rows."),
                ),
                ("closed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"ordering": ["month"]},
        ),
        migrations.RunPython(close, migrations.RunPython.noop),
    ]
