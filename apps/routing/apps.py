from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "apps.routing"
    label = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Registers the built-in strategies, whose names the catalog checks policies against.
        from apps.routing import strategies  # noqa: F401
