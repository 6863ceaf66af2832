from django.apps import AppConfig

from apps.catalog.registry import registry


class TaxConfig(AppConfig):
    name = "apps.integrations.tax"
    label = "tax"
    verbose_name = "Tax service"

    def ready(self) -> None:
        # Registers the service and every adapter in its providers folder.
        registry.discover(self.name)
