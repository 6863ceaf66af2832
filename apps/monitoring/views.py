"""`GET /metrics`: the Prometheus text format, for all of this server's worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from apps.core.errors import MethodNotAllowed
from apps.core.problems import problem_response
from apps.monitoring.access import scrape_refusal
from apps.monitoring.scrape import ScrapeCollector, read_all


def multiprocess_mode() -> bool:
    """Set before the instruments were made (deploy/gunicorn.conf.py): every worker counts
    into files in that directory, and a scrape adds them up."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ThisProcess(Collector):
    """The default registry (this process's instruments, and its process and GC metrics)."""

    def collect(self) -> Iterable:  # type: ignore[type-arg]
        return REGISTRY.collect()


async def metrics(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return problem_response(
            MethodNotAllowed("Metrics are read with GET.", headers={"Allow": "GET"})
        )
    refusal = scrape_refusal(
        request.META.get("REMOTE_ADDR"), request.headers.get("Authorization", "")
    )
    if refusal is not None:
        return problem_response(refusal)
    registry = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(ScrapeCollector(await read_all()))
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
