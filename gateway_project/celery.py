"""Celery application. Without CELERY_BROKER_URL tasks run eagerly, in process."""

import os

from celery import Celery

from apps.core.log_context import connect_request_id_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task sent while serving a call carries the call's request id (a `request_id` header) and
# logs with it while it runs (apps.core.log_context).
connect_request_id_signals()
