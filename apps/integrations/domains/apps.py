from django.apps import AppConfig

from apps.catalog.registry import registry


class DomainsConfig(AppConfig):
    name = "apps.integrations.domains"
    label = "domains"
    verbose_name = "Domains service"

    def ready(self) -> None:
        # Registers the service and every adapter in its providers folder.
        registry.discover(self.name)
        # Teaches the log and error masks the registrar sub-accounts' secrets.
        # Registers the task services send by name (a web process imports no tasks module
        # otherwise, and an eager call to an unregistered name would never run).
        from apps.integrations.domains import (
            secret_mask,  # noqa: F401
            tasks,  # noqa: F401
        )
