from django.apps import AppConfig


class DocsConfig(AppConfig):
    name = "apps.integrations.docs"
    label = "docs"
    verbose_name = "Documents service"

    def ready(self) -> None:
        # Importing registers the service and its adapters in the code registry.
        from apps.integrations.docs import service  # noqa: F401
        from apps.integrations.docs.providers import remote, weasyprint  # noqa: F401
