"""A sent message's ledger row is no foreign key in the database any more: ledger 0014
partitions the ledger on PostgreSQL (its key there is (id, created_at)) and drops the foreign
keys that pointed at it. Only the state changes here; SQLite keeps its key."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_webhook_token"),
        ("ledger", "0014_partition_ledger"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="sentmessage",
                    name="ledger_entry",
                    field=models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sent_message",
                        to="ledger.ledgerentry",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
