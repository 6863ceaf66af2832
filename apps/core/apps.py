from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.conf import settings

        # Registers the deployment's system checks.
        from apps.core import deployment  # noqa: F401
        from apps.core.access_log import install_query_token_filter, install_server_log_format

        # Every process that serves requests loads the apps first: no token in its access log.
        install_query_token_filter()
        install_server_log_format(settings.LOG_FORMAT)
