from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "apps.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.ledger.roles import roles_after_migrate

        # After auth's own handler has created the permissions (auth is installed first).
        post_migrate.connect(roles_after_migrate, sender=self)
