"""Staff API tokens moved from DRF's authtoken (stored in plaintext, never expiring) to
django-rest-knox (digests, with an expiry). The old table is dropped so that no usable
token stays at rest; finance staff make new ones with `manage.py create_staff_token`."""

from typing import Any

from django.db import migrations

OLD_TABLE = "authtoken_token"


def drop_plaintext_tokens(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if OLD_TABLE in connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(OLD_TABLE)}")
    # Forget authtoken's migrations too, so that re-adding the app would create its table.
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_client_webhook_secret"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(drop_plaintext_tokens, migrations.RunPython.noop, elidable=True),
    ]
