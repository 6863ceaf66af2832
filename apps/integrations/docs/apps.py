from django.apps import AppConfig

from apps.catalog.registry import registry


class DocsConfig(AppConfig):
    name = "apps.integrations.docs"
    label = "docs"
    verbose_name = "Documents service"

    def ready(self) -> None:
        # Registers the service and every adapter in its providers folder.
        registry.discover(self.name)
