"""The Django admin's "free call: yes" filter (issue #18): free calls are rare, so without an
index of their own the filter walks ledger_by_time over the whole table to fill a page. A
partial index holds only the free calls, in the list's order, so the page is its first 50
entries; an ordinary call's row never enters it (nothing added to the call path's insert).

Built CONCURRENTLY on PostgreSQL as 0011's, so calls keep being recorded meanwhile (hence a
non-atomic migration; rerunning after an interruption is safe). SQLite builds it plainly.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Q

FREE_CALLS = models.Index(
    fields=["created_at", "id"], name="ledger_free_calls", condition=Q(free_call=True)
)


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("ledger", "LedgerEntry")
    concurrently = schema_editor.connection.vendor == "postgresql"
    # SQLite's schema editor takes no `concurrently` argument.
    options = {"concurrently": True} if concurrently else {}
    if concurrently:
        # An interrupted CONCURRENTLY build leaves an invalid index: drop it and build again.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {FREE_CALLS.name}")
    schema_editor.execute(str(FREE_CALLS.create_sql(model, schema_editor, **options)))


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    keyword = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {keyword}IF EXISTS {FREE_CALLS.name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0011_ledger_read_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[migrations.AddIndex(model_name="ledgerentry", index=FREE_CALLS)],
        )
    ]
