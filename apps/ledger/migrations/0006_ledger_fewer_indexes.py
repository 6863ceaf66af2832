"""Three fewer indexes on the ledger, which every call inserts into.

* request_id and api_key lose the `varchar_pattern_ops` (LIKE) index Django adds to an
  indexed text column: ids are only matched whole. Their plain indexes stay, renamed to
  ledger_request_id and ledger_api_key (PostgreSQL renames in place, no rebuild).
* client loses its own index: ledger_client_time (client_id, created_at) serves every
  lookup by client, the foreign key's included.

On PostgreSQL nothing is rebuilt (drops and renames take a moment even on a large ledger);
SQLite, which cannot rename an index, recreates the two it keeps.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

import django.db.models.deletion

TABLE = "ledger_ledgerentry"
KEPT = {  # Django's name for the field's index -> the name in Meta.indexes
    "ledger_ledgerentry_request_id_eb029b67": ("ledger_request_id", "request_id"),
    "ledger_ledgerentry_api_key_id_6ee01fc1": ("ledger_api_key", "api_key_id"),
}
DROPPED = "ledger_ledgerentry_client_id_75b83f35"


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    run = schema_editor.execute
    postgresql = schema_editor.connection.vendor == "postgresql"
    for old, (new, column) in KEPT.items():
        if postgresql:
            run(f"DROP INDEX IF EXISTS {old}_like")
            run(f"ALTER INDEX {old} RENAME TO {new}")
        else:
            run(f"DROP INDEX IF EXISTS {old}")
            run(f"CREATE INDEX {new} ON {TABLE} ({column})")
    run(f"DROP INDEX IF EXISTS {DROPPED}")


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    run = schema_editor.execute
    postgresql = schema_editor.connection.vendor == "postgresql"
    for old, (new, column) in KEPT.items():
        if postgresql:
            run(f"ALTER INDEX {new} RENAME TO {old}")
            run(f"CREATE INDEX {old}_like ON {TABLE} ({column} varchar_pattern_ops)")
        else:
            run(f"DROP INDEX IF EXISTS {new}")
            run(f"CREATE INDEX {old} ON {TABLE} ({column})")
    run(f"CREATE INDEX {DROPPED} ON {TABLE} (client_id)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_client_webhook_secret"),
        ("ledger", "0005_ops_and_finance_groups"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="api_key",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="accounts.clientapikey",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="client",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="accounts.client",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="request_id",
                    field=models.CharField(max_length=128),
                ),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(fields=["request_id"], name="ledger_request_id"),
                ),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(fields=["api_key"], name="ledger_api_key"),
                ),
            ],
        )
    ]
