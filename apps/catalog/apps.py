from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.catalog import signals  # noqa: F401
        from apps.catalog.shared_versions import shared_version_bump, shared_versions_read
        from apps.catalog.sync import sync_after_migrate
        from apps.core import state

        post_migrate.connect(sync_after_migrate, sender=self)
        # Without Redis, the version counters of apps.core.state live in this app's table.
        state.shared_versions_store(
            bump=lambda name: shared_version_bump(name=name), read=shared_versions_read
        )
