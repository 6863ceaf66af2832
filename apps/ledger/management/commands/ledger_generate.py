"""python manage.py ledger_generate --rows 20000000: fill the ledger with realistic call rows.

For measuring the finance reads at scale (bench/ledger_scale.py, docs/benchmarks.md); never
on real data. On PostgreSQL each accounting day is one set-based INSERT … SELECT over
generate_series, in time order (as the call path appends), bypassing the append-only model,
which only forbids changing rows. The same statement adds the day's rows to the daily rollup
and moves each client's balance by their amounts, and each month's charges are paid by a
top-up row early the next month, so `ledger_check` passes after every committed day. When
the rows to write outnumber those there, the ledger's secondary indexes are dropped for the
load and rebuilt after it. Elsewhere (SQLite) or with --portable, the same rows are made in
Python (_ledger_generate_portable), up to 200,000.

The traffic is skewed as in life: --big clients share most rows (2/3, 1/3, … of what is left),
--mid clients share --mid-share of them (a few thousand each by default), and --tiny clients
make 1 to 9 calls each. Days are spread over the last --months months (weekends quieter,
traffic growing), over the catalog's enabled offerings at their costs, the plan's prices,
every channel and status; ~3% fail, ~5% are answered from the cache. Ends with VACUUM
ANALYZE (PostgreSQL). Prints rows/s.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Client, ClientApiKey
from apps.billing.models import Plan, Price
from apps.catalog.models import Offering
from apps.ledger.management.commands._ledger_generate_portable import (
    COUNTRIES,
    TOPUP_REASON,
    GenClient,
    GenOffering,
    write_days_portable,
)
from apps.ledger.management.commands._ledger_generate_sql import (
    TOPUP_SQL,
    day_sql,
    load_temp_tables,
)
from apps.ledger.months import ledger_months_rebuild
from apps.ledger.rollup import accounting_tz

PORTABLE_MAX_ROWS = 200_000  # without PostgreSQL
MID_ROWS_EACH = 4000  # the default --mid clients make a few thousand calls each


def months_back(today: date, months: int) -> date:
    """The same day `months` months before `today` (the month's last day if shorter)."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    for day in range(today.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(today.day, 28))


def client_shape(rows: int, big: int, mid: int, tiny: int, mid_share: float) -> list[int]:
    """Rows per client: big ones first (halving shares), then mid, then tiny (1 to 9)."""
    tiny_rows = [1 + n % 9 for n in range(tiny)]
    mid_total = min(int(rows * mid_share), rows - sum(tiny_rows)) if mid else 0
    # Mid clients vary by ±50% around their mean.
    weights = [0.5 + (n * 7 % 11) / 10 for n in range(mid)]
    mid_rows = [int(mid_total * w / sum(weights)) for w in weights]
    left = rows - sum(tiny_rows) - sum(mid_rows)
    if left < 0 or (big == 0 and left > 0):
        raise CommandError(
            f"--rows {rows} does not fit this shape: give more rows, fewer --tiny clients or "
            "a smaller --mid-share, or at least one --big client for the rest."
        )
    shares = [1 / 2**n for n in range(big)]
    big_rows = [int(left * s / sum(shares)) for s in shares]
    if big:
        big_rows[0] += left - sum(big_rows)
    return big_rows + mid_rows + tiny_rows


class Command(BaseCommand):
    help = "Generate N skewed, consistent ledger rows set-based (PostgreSQL; benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000, help="Call rows in all.")
        parser.add_argument("--months", type=int, default=6, help="Spread up to now.")
        parser.add_argument("--big", type=int, default=3, help="Clients with most rows.")
        parser.add_argument("--mid", type=int, default=None, help="Clients with thousands.")
        parser.add_argument("--mid-share", type=float, default=0.2, help="Their share of rows.")
        parser.add_argument("--tiny", type=int, default=50, help="Clients with 1 to 9 rows.")
        parser.add_argument("--prefix", default="gen", help="Slug prefix of the clients.")
        parser.add_argument("--seed", type=float, default=0.6, help="-1 to 1 (setseed).")
        parser.add_argument("--no-vacuum", action="store_true", help="Skip VACUUM ANALYZE.")
        parser.add_argument(
            "--portable",
            action="store_true",
            help="Make rows in Python and bulk_create them (any database, small ledgers).",
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="Keep the ledger's secondary indexes while writing (by default they are "
            "dropped and rebuilt when the rows to write outnumber the rows already there).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows, months = options["rows"], options["months"]
        portable = options["portable"] or connection.vendor != "postgresql"
        if portable and rows > PORTABLE_MAX_ROWS:
            raise CommandError(
                f"Without PostgreSQL (or with --portable) rows are made in Python, at most "
                f"{PORTABLE_MAX_ROWS:,}; use PostgreSQL for more."
            )
        if rows < 1 or months < 1 or not 0 <= options["mid_share"] < 1:
            raise CommandError("--rows and --months must be at least 1, --mid-share in [0, 1)")
        if min(options["big"], options["tiny"], options["mid"] or 0) < 0:
            raise CommandError("client counts must not be negative")
        if not -1 <= options["seed"] <= 1:
            raise CommandError("--seed must be from -1 to 1 (PostgreSQL's setseed)")
        mid = options["mid"]
        if mid is None:
            mid = max(1, round(rows * options["mid_share"] / MID_ROWS_EACH))
        shape = client_shape(rows, options["big"], mid, options["tiny"], options["mid_share"])
        started = time.monotonic()
        clients, offerings = self.prepare(options["prefix"], shape, options["big"], mid)
        if portable:
            written = write_days_portable(self.days(months), clients, offerings, self.stdout)
        else:
            with connection.cursor() as cursor:
                load_temp_tables(cursor, clients, offerings, options["seed"])
            dropped = [] if options["keep_indexes"] else self.drop_indexes(rows)
            try:
                written = self.write_days(months, len(offerings))
            finally:
                self.rebuild_indexes(dropped)
            # The days written reach into closed months: their monthly level is summed again.
            ledger_months_rebuild()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Wrote {written:,} call rows for {len(shape)} clients in {elapsed:.0f} s "
            f"({written / max(elapsed, 1e-9):,.0f} rows/s), rollup and balances included."
        )
        if not options["no_vacuum"] and not portable:
            vacuumed = time.monotonic()
            with connection.cursor() as cursor:
                for table in ("ledger_ledgerentry", "ledger_ledgerday", "accounts_client"):
                    cursor.execute(f"VACUUM ANALYZE {table}")
            self.stdout.write(f"VACUUM ANALYZE took {time.monotonic() - vacuumed:.0f} s.")

    def prepare(
        self, prefix: str, shape: list[int], big: int, mid: int
    ) -> tuple[list[GenClient], list[GenOffering]]:
        """The clients (made as needed, each with API keys) and the offerings to call."""
        plan, _ = Plan.objects.get_or_create(slug=f"{prefix}-plan", defaults={"name": "Generated"})
        offerings = list(
            Offering.objects.filter(enabled=True).select_related("method__service", "provider")
        )
        if not offerings:
            raise CommandError("The catalog has no enabled offerings; run migrate (demo catalog).")
        prices = {}
        for offering in offerings:
            fallback = max(offering.cost * Decimal("1.5"), Decimal("0.001"))
            price, _ = Price.objects.get_or_create(
                plan=plan,
                method=offering.method,
                defaults={"price": fallback.quantize(Decimal("0.001"), rounding=ROUND_UP)},
            )
            prices[offering.method_id] = price.price
        slugs = [f"{prefix}-big-{n:02d}" for n in range(big)]
        slugs += [f"{prefix}-mid-{n:04d}" for n in range(mid)]
        slugs += [f"{prefix}-tiny-{n:03d}" for n in range(len(shape) - big - mid)]
        clients = {c.slug: c for c in Client.objects.filter(slug__in=slugs)}
        for n, slug in enumerate(slugs):
            if slug not in clients:
                clients[slug] = Client.objects.create(
                    slug=slug,
                    name=f"Generated client {slug}",
                    country=COUNTRIES[n % len(COUNTRIES)],
                    plan=plan,
                    credit_limit=Decimal("10000000"),
                )
                keys = 3 if n < big else 2 if n < big + mid else 1
                for k in range(keys):
                    ClientApiKey.objects.create_key(client=clients[slug], name=f"generated-{k}")
        keys_of: dict[int, list[str | None]] = {}
        for key_id, client_id in ClientApiKey.objects.filter(
            client__in=clients.values()
        ).values_list("id", "client_id"):
            keys_of.setdefault(client_id, []).append(key_id)
        rows = [
            (c.pk, n, c.country, keys_of.get(c.pk) or [None], i % len(offerings), (i * 0.618) % 1)
            for i, (c, n) in enumerate(zip((clients[s] for s in slugs), shape, strict=True))
        ]
        catalog = [
            (i, o.method.service.slug, o.method.slug, o.provider.slug, o.cost, prices[o.method_id])
            for i, o in enumerate(offerings)
        ]
        return rows, catalog

    def drop_indexes(self, rows: int) -> list[tuple[str, str]]:
        """Drop the ledger's secondary indexes if rebuilding them beats updating them row by
        row (a bulk load: the random request ids alone make each insert a random page write).
        Indexes that back constraints stay. Returns (name, definition) to rebuild."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = 'ledger_ledgerentry'::regclass"
            )
            (existing,) = cursor.fetchone()
            if rows <= max(existing, 0):
                return []
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = 'ledger_ledgerentry'::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        self.stdout.write(f"Dropped {len(indexes)} indexes for the load; rebuilt at the end.")
        return indexes

    def rebuild_indexes(self, indexes: list[tuple[str, str]]) -> None:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            if connection.in_atomic_block:  # the caller's transaction: check the rows' keys now
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for name, definition in indexes:
                # A partitioned index (ledger 0014) reads "ON ONLY": rebuilt, it must build
                # every partition's part too.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
                self.stdout.write(f"  rebuilt {name} ({time.monotonic() - started:.0f} s)")

    def days(self, months: int) -> list[tuple[datetime, float]]:
        """Each accounting day's start and its weight: weekends quieter, traffic growing."""
        tz = accounting_tz()
        now = timezone.now()
        first = months_back(timezone.localtime(now, tz).date(), months)
        starts = []
        day = first
        while (start := datetime.combine(day, datetime.min.time(), tz)) < now:
            starts.append(start)
            day += timedelta(days=1)
        starts.append(now)
        weights = []
        for n, start in enumerate(starts[:-1]):
            length = (starts[n + 1] - start).total_seconds() / 86_400
            quiet = 0.6 if start.weekday() >= 5 else 1.0
            weights.append(length * quiet * (1 + 0.5 * n / len(starts)))
        return list(zip(starts, weights, strict=False))

    def write_days(self, months: int, n_offerings: int) -> int:
        days = self.days(months)
        total_weight = sum(weight for _, weight in days)
        now, done, written, tick = timezone.now(), 0.0, 0, time.monotonic()
        sql = day_sql()
        for n, (start, weight) in enumerate(days):
            end = days[n + 1][0] if n + 1 < len(days) else now
            with transaction.atomic(), connection.cursor() as cursor:
                if start.day == 1 and n > 0:
                    cursor.execute(
                        TOPUP_SQL,
                        {
                            "currency": settings.ACCOUNTING_CURRENCY,
                            "reason": TOPUP_REASON,
                            "at": start + timedelta(hours=1),
                        },
                    )
                cursor.execute(
                    sql,
                    {
                        "n_offerings": n_offerings,
                        "start": start,
                        "span": (end - start).total_seconds(),
                        "f0": done / total_weight,
                        "f1": 1.0 if n + 1 == len(days) else (done + weight) / total_weight,
                        "currency": settings.ACCOUNTING_CURRENCY,
                        "countries": COUNTRIES,
                        "tz": settings.ACCOUNTING_TIME_ZONE,
                    },
                )
                written += sum(count for (count,) in cursor.fetchall())
            done += weight
            if time.monotonic() - tick > 15 or n + 1 == len(days):
                tick = time.monotonic()
                self.stdout.write(f"  {start:%Y-%m-%d}: {written:,} rows", ending="\n")
        return written
