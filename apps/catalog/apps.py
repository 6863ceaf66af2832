from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.catalog import signals  # noqa: F401
        from apps.catalog.sync import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self)
