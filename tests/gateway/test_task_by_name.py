"""The call path sends its tasks by name: the web process never imports the gateway's task
module (which imports the pipeline), and a task it sends still runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

WEB_PROCESS = textwrap.dedent(
    """
    import sys

    import django

    django.setup()
    import gateway_project.asgi  # noqa: F401  (what a web process loads)

    print("gateway tasks loaded:", "apps.gateway.tasks" in sys.modules)

    from apps.gateway.dispatch import task_send

    from celery import current_app

    result = current_app.tasks  # what the send looks the name up in
    task_send("gateway.redispatch_stale_calls")  # eager here: it runs in line
    print("registered:", "gateway.redispatch_stale_calls" in result)
    print("sent")
    """
)


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_web_process_sends_a_task_by_name_without_importing_its_module(db):
    # given a fresh process that loads the ASGI application, as uvicorn does
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": _database_url(),
    }
    env.pop("CELERY_BROKER_URL", None)  # the embedded run: eager tasks

    # when it sends the stale-call sweep by its name
    done = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then the gateway's task module was not loaded before the send, and the task ran
    assert done.returncode == 0, done.stderr[-2000:]
    assert "gateway tasks loaded: False" in done.stdout
    assert "registered: True" in done.stdout
    assert "Task gateway.redispatch_stale_calls[" in done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("sent")
