"""An index on SentMessage.message_id alone, for ops' search by a vendor's message id.

Built CONCURRENTLY on PostgreSQL, so that a large table keeps taking the rows of messages
being sent meanwhile (hence a non-atomic migration); SQLite builds it as usual.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEX = models.Index(fields=["message_id"], name="sent_message_id")


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("messaging", "SentMessage")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(model, INDEX, concurrently=True)  # type: ignore[call-arg]
    else:
        schema_editor.add_index(model, INDEX)


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("messaging", "SentMessage")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, INDEX, concurrently=True)  # type: ignore[call-arg]
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("messaging", "0002_alter_sentmessage_status_at")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[migrations.AddIndex(model_name="sentmessage", index=INDEX)],
        )
    ]
