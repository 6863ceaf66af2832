"""`make cluster` runs this before honcho: several nodes need shared state, or they disagree.

    python deploy/cluster_check.py

Loads the settings as every process of Procfile.cluster will (the environment, then `.env`)
and exits 2, saying what to set, unless the database is PostgreSQL, REDIS_URL is set and
CELERY_BROKER_URL is RabbitMQ (`amqp://`, also the consumer's queue, GATEWAY_MQ_URL).
On SQLite or without Redis, each node would count its own rate limits and keep its own
breakers and weights (docs/deployment.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")


def problems() -> list[str]:
    from django.conf import settings

    found = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        found.append(
            f"DATABASE_URL is {engine.rsplit('.', 1)[-1]}: every node must use one PostgreSQL "
            "database (e.g. postgres://postgres@127.0.0.1:5432/gateway)"
        )
    if not settings.REDIS_URL:
        found.append(
            "REDIS_URL is not set: rate limits, breakers, weights and cache versions would be "
            "each node's own (e.g. redis://127.0.0.1:6379/0)"
        )
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.GATEWAY_MQ_URL.startswith("amqp"):
        found.append(
            "CELERY_BROKER_URL is not RabbitMQ: the worker, beat and the consumer need it "
            "(e.g. amqp://guest:guest@127.0.0.1:5672//)"
        )
    return found


def main() -> int:
    import django

    django.setup()
    found = problems()
    for problem in found:
        print(f"make cluster: {problem}", file=sys.stderr)
    if found:
        print("make cluster: refusing to start a cluster without shared state.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
