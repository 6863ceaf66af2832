from django.apps import AppConfig

from apps.catalog.registry import registry


class SmsConfig(AppConfig):
    name = "apps.integrations.sms"
    label = "sms"
    verbose_name = "SMS service"

    def ready(self) -> None:
        # Registers the service and every adapter in its providers folder.
        registry.discover(self.name)
