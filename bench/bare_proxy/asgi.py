"""ASGI entry point of the bare proxy, served exactly like the gateway (gunicorn + uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare_proxy.settings")

application = get_asgi_application()
