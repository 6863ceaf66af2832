"""The Django admin's "free call: yes" filter (issue #18): free calls are rare, so without an
index of their own the filter walks ledger_by_time over the whole table to fill a page. A
partial index holds only the free calls, in the list's order, so the page is its first 50
entries; an ordinary call's row never enters it (nothing added to the call path's insert).

Built CONCURRENTLY on PostgreSQL, so calls keep being recorded meanwhile (hence a non-atomic
migration; rerunning after an interruption is safe). SQLite builds it plainly.
"""

from django.db import migrations, models
from django.db.models import Q

from apps.core.migration_ops import AddIndexConcurrentlyWherePossible


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0011_ledger_read_indexes")]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name="ledgerentry",
            index=models.Index(
                fields=["created_at", "id"], name="ledger_free_calls", condition=Q(free_call=True)
            ),
        )
    ]
