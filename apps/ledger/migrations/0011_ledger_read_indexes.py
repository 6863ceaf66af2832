"""The ledger's indexes follow its reads (issue #18): each filter finance uses, with the rows'
order and the cursor's tie-breaker (created_at, id), so a first page is the first hundred
entries of one index range instead of a walk of the whole table in time order.

* created_at, (client, created_at), (provider, created_at) and (api_key) become
  (…, created_at, id); (service, method, created_at, id) is new.
* status, channel and kind get partial indexes over their rare values only (not a succeeded
  HTTP charge), which the call path's ordinary row never enters.
* created_by's index becomes partial (staff bookings only): call rows no longer add to it.

On PostgreSQL the new indexes are built CONCURRENTLY before the old ones are dropped, so
calls keep being recorded and reads keep an index throughout (hence a non-atomic migration;
rerunning after an interruption is safe). SQLite builds them plainly.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Q

NEW = [
    models.Index(fields=["created_at", "id"], name="ledger_by_time"),
    models.Index(fields=["client", "created_at", "id"], name="ledger_by_client"),
    models.Index(fields=["provider", "created_at", "id"], name="ledger_by_provider"),
    models.Index(fields=["service", "method", "created_at", "id"], name="ledger_by_method"),
    models.Index(fields=["api_key", "created_at", "id"], name="ledger_by_api_key"),
    models.Index(
        fields=["status", "created_at", "id"],
        name="ledger_by_status",
        condition=~Q(status="succeeded"),
    ),
    models.Index(
        fields=["channel", "created_at", "id"],
        name="ledger_by_channel",
        condition=~Q(channel="http"),
    ),
    models.Index(
        fields=["kind", "created_at", "id"], name="ledger_by_kind", condition=~Q(kind="charge")
    ),
    models.Index(
        fields=["created_by"], name="ledger_by_staff", condition=Q(created_by__isnull=False)
    ),
]
OLD = [  # Meta's, and Django's own for created_at and created_by
    "ledger_client_time",
    "ledger_provider_time",
    "ledger_api_key",
    "ledger_ledgerentry_created_at_9e99637a",
    "ledger_ledgerentry_created_by_id_391c569b",
]
OLD_META = [
    models.Index(fields=["client", "created_at"], name="ledger_client_time"),
    models.Index(fields=["provider", "created_at"], name="ledger_provider_time"),
    models.Index(fields=["api_key"], name="ledger_api_key"),
]


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("ledger", "LedgerEntry")
    concurrently = schema_editor.connection.vendor == "postgresql"
    for index in NEW:
        # SQLite's schema editor takes no `concurrently` argument.
        options = {"concurrently": True} if concurrently else {}
        sql = str(index.create_sql(model, schema_editor, **options))
        if concurrently:
            # An interrupted CONCURRENTLY build leaves an invalid index: drop it and build again.
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
        schema_editor.execute(sql)
    keyword = "CONCURRENTLY " if concurrently else ""
    for name in OLD:
        schema_editor.execute(f"DROP INDEX {keyword}IF EXISTS {name}")


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("ledger", "LedgerEntry")
    concurrently = schema_editor.connection.vendor == "postgresql"
    keyword = "CONCURRENTLY " if concurrently else ""
    table = model._meta.db_table
    for index in OLD_META:
        options = {"concurrently": True} if concurrently else {}
        sql = index.create_sql(model, schema_editor, **options)
        schema_editor.execute(str(sql))
    schema_editor.execute(
        f"CREATE INDEX {keyword}ledger_ledgerentry_created_at_9e99637a ON {table} (created_at)"
    )
    schema_editor.execute(
        f"CREATE INDEX {keyword}ledger_ledgerentry_created_by_id_391c569b "
        f"ON {table} (created_by_id)"
    )
    for index in NEW:
        schema_editor.execute(f"DROP INDEX {keyword}IF EXISTS {index.name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ledger", "0010_ledgerday_status_channel"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                *(
                    migrations.RemoveIndex(model_name="ledgerentry", name=index.name)
                    for index in OLD_META
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The staff user who booked this row.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                *(migrations.AddIndex(model_name="ledgerentry", index=index) for index in NEW),
            ],
        )
    ]
