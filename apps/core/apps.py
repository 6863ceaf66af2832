from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Registers the deployment's system checks.
        from apps.core import deployment  # noqa: F401
