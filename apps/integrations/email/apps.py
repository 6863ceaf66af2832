from django.apps import AppConfig

from apps.catalog.registry import registry


class EmailConfig(AppConfig):
    name = "apps.integrations.email"
    label = "email"
    verbose_name = "Email service"

    def ready(self) -> None:
        # Registers the service and every adapter in its providers folder.
        registry.discover(self.name)
