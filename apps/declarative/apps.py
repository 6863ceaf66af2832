from django.apps import AppConfig


class DeclarativeConfig(AppConfig):
    name = "apps.declarative"
    label = "declarative"
    verbose_name = "Declarative configuration"
