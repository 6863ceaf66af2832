"""The staff roles: `ops` tunes the catalog, routing and pricing; `finance` reads the ledger.

Exactly the permissions in apps.ledger.roles (see docs/finance.md); superusers need no
group. Every `migrate` sets them again (a post_migrate handler), so they follow that list.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from apps.ledger.roles import ROLES, roles_apply


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_apply(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        registry=apps,
    )


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0002_client_held"),
        ("billing", "0003_historicalclientprice_historicalcountryprice_and_more"),
        ("catalog", "0004_historicaloffering_historicalofferingcountrycost_and_more"),
        ("ledger", "0004_ledgerday"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
