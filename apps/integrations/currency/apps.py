from django.apps import AppConfig


class CurrencyConfig(AppConfig):
    name = "apps.integrations.currency"
    label = "currency"
    verbose_name = "Currency service"

    def ready(self) -> None:
        # Importing registers the service and its adapters in the code registry.
        from apps.integrations.currency import providers, service  # noqa: F401
        from apps.integrations.currency.providers import (  # noqa: F401
            currencylayer,
            ecb,
            fixer,
            openexchangerates,
            sandbox,
        )
