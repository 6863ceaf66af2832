"""The daily rollup gains status and channel, so a summary narrowed to either reads buckets
instead of millions of rows. The buckets are summed again from the ledger rows (the ledger
is locked against inserts meanwhile: on 5 million rows, about a minute)."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from apps.ledger.rollup import rollup_rebuild


def resum(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    rollup_rebuild(
        entries=apps.get_model("ledger", "LedgerEntry"), days=apps.get_model("ledger", "LedgerDay")
    )


def forget_status_and_channel(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Backwards: one bucket per former key again, before the old constraint comes back."""
    day_model = apps.get_model("ledger", "LedgerDay")
    day_model.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_client_webhook_secret"),
        ("ledger", "0009_hold_release_run"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="ledgerday", name="ledger_day_unique"),
        migrations.AddField(
            model_name="ledgerday",
            name="status",
            field=models.CharField(blank=True, max_length=20, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="ledgerday",
            name="channel",
            field=models.CharField(blank=True, max_length=10, default=""),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="ledgerday",
            constraint=models.UniqueConstraint(
                fields=[
                    "day",
                    "client",
                    "service",
                    "method",
                    "provider",
                    "country",
                    "status",
                    "channel",
                ],
                name="ledger_day_bucket_unique",
            ),
        ),
        migrations.RunPython(resum, forget_status_and_channel),
    ]
