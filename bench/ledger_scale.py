"""Finance at scale: time the one-month summary and stream the month's CSV export.

  DJANGO_SETTINGS_MODULE=gateway_project.settings_test DATABASE_URL=postgres://…/DB \
      .venv/bin/python bench/ledger_scale.py summary|export YYYY-MM

Run after `manage.py ledger_generate --rows 5000000`. Requests go through the real views
(Django's test client, a superuser's session); `export` reports the peak RSS of the process.
"""

import os
import resource
import sys
import time
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.test import Client  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    what, month = sys.argv[1], sys.argv[2]
    first = date.fromisoformat(month + "-01")
    after = first.isoformat()
    before = (date(first.year + first.month // 12, first.month % 12 + 1, 1)).isoformat()
    user, _ = User.objects.get_or_create(
        username="bench-root", defaults={"is_staff": True, "is_superuser": True}
    )
    http = Client(SERVER_NAME="localhost")
    http.force_login(user)
    if what == "summary":
        for label, extra in (("rollup", {}), ("rows (status filter)", {"status": "succeeded"})):
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                response = http.get(
                    "/api/v1/ledger/summary/",
                    {
                        "group_by": "provider,day",
                        "created_after": after,
                        "created_before": before,
                        **extra,
                    },
                )
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.content[:300]
            body = response.json()
            print(
                f"summary {month} by provider,day from {label}: {len(body['results'])} groups, "
                f"{body['totals']['calls']:,} calls; first {timings[0] * 1000:.0f} ms, "
                f"best {min(timings) * 1000:.0f} ms, median {sorted(timings)[2] * 1000:.0f} ms"
            )
    else:
        base = rss_mb()
        started = time.perf_counter()
        response = http.get(
            "/api/v1/ledger/export.csv", {"created_after": after, "created_before": before}
        )
        rows = size = 0
        first_byte = None
        for chunk in response.streaming_content:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            rows += chunk.count(b"\n")
            size += len(chunk)
        elapsed = time.perf_counter() - started
        print(
            f"export {month}: {rows - 1:,} rows, {size / 1e6:.0f} MB in {elapsed:.1f} s "
            f"(first bytes after {first_byte * 1000:.0f} ms); peak RSS {rss_mb():.0f} MB "
            f"(before the export {base:.0f} MB)"
        )


main()
