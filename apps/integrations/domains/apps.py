import importlib.util

from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "apps.integrations.domains"
    label = "domains"
    verbose_name = "Domains service"

    def ready(self) -> None:
        # Importing registers the service and its adapters in the code registry.
        from apps.integrations.domains import secret_mask, service  # noqa: F401
        from apps.integrations.domains.providers import godaddy, sandbox  # noqa: F401

        # Namecheap's adapter is built alongside; registered once its module exists.
        if importlib.util.find_spec("apps.integrations.domains.providers.namecheap"):
            importlib.import_module("apps.integrations.domains.providers.namecheap")
