from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "apps.integrations.sms"
    label = "sms"
    verbose_name = "SMS service"

    def ready(self) -> None:
        # Importing registers the service and its adapters in the code registry.
        from apps.integrations.sms import service  # noqa: F401
        from apps.integrations.sms.providers import console, twilio, vonage  # noqa: F401
