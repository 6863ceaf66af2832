"""What logging costs on a call's path, LOG_FORMAT=plain against json (issue #15).

    .venv/bin/python bench/log_overhead.py

Runs itself once per format (LOGGING is configured at start) and prints the CPU time per
record (time.process_time, best of 7 x 20,000) of a call's log context with its access
record, and of a provider-failure warning: through the process's real handler (request-id
and credential-mask filters, 20 configured credentials), written to /dev/null.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import timeit
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS, REPEAT = 20_000, 7


def measure() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings_test")
    import django

    django.setup()
    from apps.core.log_context import call_logged, call_noted
    from apps.core.redaction import known_secrets_set

    known_secrets_set([f"secret-value-{i:04d}" for i in range(20)])
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    fields = {
        "service": "currency",
        "method": "latest_rates",
        "provider": "fixer",
        "price": Decimal("0.0100"),
        "status": "succeeded",
        "http_status": 200,
    }
    warnings = logging.getLogger("apps.routing.executor")

    def access_record() -> None:
        with call_logged("order-4711", channel="http", service="currency") as log:
            call_noted(fields, client="acme")
            log.status = 200

    def provider_warning() -> None:
        warnings.warning("provider %s failed %s: %s", "fixer", "currency.latest_rates", "500")

    for case in (access_record, provider_warning):
        timer = timeit.Timer(case, timer=time.process_time)
        best = min(timer.repeat(number=ROUNDS, repeat=REPEAT)) / ROUNDS * 1e6
        print(f"{os.environ['LOG_FORMAT']:5}  {case.__name__:16}  {best:6.1f} µs/record")


if __name__ == "__main__":
    if os.environ.get("LOG_FORMAT"):
        measure()
    else:
        for log_format in ("plain", "json"):
            env = {**os.environ, "LOG_FORMAT": log_format}
            subprocess.run(
                [sys.executable, __file__], env=env, check=True, stderr=subprocess.DEVNULL
            )
