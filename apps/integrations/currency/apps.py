from django.apps import AppConfig

from apps.catalog.registry import registry


class CurrencyConfig(AppConfig):
    name = "apps.integrations.currency"
    label = "currency"
    verbose_name = "Currency service"

    def ready(self) -> None:
        # Registers the service and every adapter in its providers folder.
        registry.discover(self.name)
