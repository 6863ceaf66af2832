from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Clients and API keys"

    def ready(self) -> None:
        from apps.accounts import openapi, signals  # noqa: F401
