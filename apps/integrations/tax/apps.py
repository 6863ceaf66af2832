from django.apps import AppConfig


class TaxConfig(AppConfig):
    name = "apps.integrations.tax"
    label = "tax"
    verbose_name = "Tax service"

    def ready(self) -> None:
        # Importing registers the service and its adapters in the code registry.
        from apps.integrations.tax import service  # noqa: F401
        from apps.integrations.tax.providers import avatax, sandbox, taxjar  # noqa: F401
