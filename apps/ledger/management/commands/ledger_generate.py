"""python manage.py ledger_generate --rows 5000000: fill the ledger with realistic call rows.

For measuring summaries and exports at scale (docs/benchmarks.md), on PostgreSQL only: rows
are streamed with COPY (bypassing the append-only model, which only forbids changing rows),
spread over --days ending today, across --clients clients (created as needed, each with a
home country) and the catalog's offerings at their costs; ~3% fail and ~5% are answered from
the cache. The daily rollup is rebuilt in the same transaction. Never use it on real data.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.catalog.models import Offering
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import ledger_rollup_rebuild

COUNTRIES = ["DE", "FR", "GB", "US", "NL", "ES", "IT", "PL", "SE", "BR"]
COLUMNS = (
    "request_id, kind, client_id, service, method, provider, status, http_status, error_type, "
    "error_detail, cost, price, amount, currency, cached, free_call, attempts, routing, "
    "latency_ms, channel, country, reason, created_at"
)


class Command(BaseCommand):
    help = "Generate N realistic ledger rows with COPY (PostgreSQL; for benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--clients", type=int, default=200)
        parser.add_argument("--seed", type=int, default=6)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("ledger_generate streams rows with COPY: PostgreSQL only.")
        rng = random.Random(options["seed"])
        offerings = [
            (o.method.service.slug, o.method.slug, o.provider.slug, o.cost)
            for o in Offering.objects.select_related("method__service", "provider")
        ]
        if not offerings:
            raise CommandError("The catalog has no offerings; run migrate first.")
        clients = self.clients(options["clients"], rng)
        rows, days = options["rows"], options["days"]
        end = timezone.now()
        span_s = days * 86_400
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cursor:
                copy_sql = f"COPY {LedgerEntry._meta.db_table} ({COLUMNS}) FROM STDIN"
                with cursor.cursor.copy(copy_sql) as copy:
                    batch: list[str] = []
                    for n in range(rows):
                        batch.append(self.line(rng, clients, offerings, end, span_s))
                        if len(batch) == 20_000:
                            copy.write("".join(batch))
                            batch = []
                            if n % 500_000 < 20_000:
                                self.stdout.write(f"  {n + 1:,} rows…")
                    copy.write("".join(batch))
            copied = time.monotonic() - started
            buckets = ledger_rollup_rebuild()
        self.stdout.write(
            f"Wrote {rows:,} rows in {copied:.0f} s; rebuilt the rollup ({buckets:,} buckets) "
            f"in {time.monotonic() - started - copied:.0f} s."
        )

    def clients(self, count: int, rng: random.Random) -> list[tuple[int, str]]:
        plan, _ = Plan.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        existing = list(
            Client.objects.filter(slug__startswith="bench-").values_list("pk", "country")
        )
        for n in range(len(existing), count):
            client = Client.objects.create(
                slug=f"bench-{n:04d}",
                name=f"Bench client {n}",
                country=rng.choice(COUNTRIES),
                plan=plan,
                credit_limit=Decimal("1000000"),
            )
            existing.append((client.pk, client.country))
        return existing[:count]

    def line(
        self,
        rng: random.Random,
        clients: list[tuple[int, str]],
        offerings: list[tuple[str, str, str, Decimal]],
        end: Any,
        span_s: int,
    ) -> str:
        # A few clients make most calls, as in life.
        client_id, home = clients[min(int(rng.paretovariate(1.2)) - 1, len(clients) - 1)]
        service, method, provider, cost = rng.choice(offerings)
        created = end - timedelta(seconds=rng.random() * span_s)
        roll = rng.random()
        status, http, error, price = "succeeded", "200", "", Decimal("0.0100")
        if roll < 0.03:
            status, http, error, price, cost, provider = (
                "failed",
                "502",
                "upstream",
                Decimal(0),
                Decimal(0),
                "",
            )
        cached = "t" if roll > 0.95 and status == "succeeded" else "f"
        if cached == "t":
            cost = Decimal(0)
        country = home if rng.random() < 0.9 else rng.choice(COUNTRIES)
        return (
            "\t".join(
                (
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    "charge",
                    str(client_id),
                    service,
                    method,
                    provider,
                    status,
                    http,
                    error,
                    "",
                    str(cost),
                    str(price),
                    str(-price),
                    settings.ACCOUNTING_CURRENCY,
                    cached,
                    "f",
                    "[]",
                    "{}",
                    str(rng.randint(20, 900)),
                    "http",
                    country,
                    "",
                    created.isoformat(),
                )
            )
            + "\n"
        )
