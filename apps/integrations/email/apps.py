from django.apps import AppConfig


class EmailConfig(AppConfig):
    name = "apps.integrations.email"
    label = "email"
    verbose_name = "Email service"

    def ready(self) -> None:
        # Importing registers the service and its adapters in the code registry.
        from apps.integrations.email import service  # noqa: F401
        from apps.integrations.email.providers import (  # noqa: F401
            console,
            mailgun,
            postmark,
            sendgrid,
            smtp,
        )
