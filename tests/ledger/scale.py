"""A skewed ledger written by PostgreSQL itself (INSERT ... SELECT generate_series), quickly
enough for a test to hold 100k rows: a few clients with most of the rows, many with a few
hundred or thousand, some with a handful, and rare statuses, channels, methods and providers
as real traffic has them. The plan tests check the finance reads against it.

To fill a scratch database: `manage.py shell -c "from tests.ledger.scale import
generate_skewed_ledger as g; g(rows=5_000_000)"` with DATABASE_URL naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.ledger.partitions import ledger_partitions_ensure, month_of, months, partition_create
from apps.ledger.rollup import ledger_rollup_rebuild

START = datetime(2026, 8, 1, tzinfo=UTC)
DAYS = 122  # August to November 2026
BIG = 3  # clients holding 30 %, 20 % and 10 % of the rows
MEDIUM = 300  # the other 40 %, evenly
TINY = 200  # one to five rows each
EMPTY = 5  # clients without rows


@dataclass(frozen=True)
class SkewedLedger:
    big: list[int]
    medium: list[int]
    tiny: list[int]
    empty: list[int]


# (service, method, cumulative share); the last is rare
METHODS = (
    ("currency", "latest_rates", 0.55),
    ("currency", "convert", 0.80),
    ("geo", "ip_lookup", 0.93),
    ("sms", "send", 0.99),
    ("email", "send", 0.9999),
    ("docs", "html_to_pdf", 1.0),
)
PROVIDERS = ("fixer", "openexchangerates", "ipinfo", "twilio", "sendgrid", "weasyprint")


def _case(column: str, choices: tuple[tuple[str, float], ...]) -> str:
    whens = " ".join(f"WHEN {column} < {share} THEN '{value}'" for value, share in choices[:-1])
    return f"CASE {whens} ELSE '{choices[-1][0]}' END"


def _rows_sql(clients_sql: str) -> str:
    """Charge rows; each parameter row: (n, client choice expression as SQL)."""
    service = _case("m", tuple((s, share) for s, _, share in METHODS))
    method = _case("m", tuple((name, share) for _, name, share in METHODS))
    provider = _case(
        "m", tuple((p, share) for p, (_, _, share) in zip(PROVIDERS, METHODS, strict=True))
    )
    status = _case(
        "s", (("succeeded", 0.96), ("failed", 0.99), ("rejected", 0.998), ("unknown", 1.0))
    )
    channel = _case(
        "ch", (("http", 0.85), ("async", 0.91), ("ws", 0.95), ("mq", 0.98), ("webhook", 1.0))
    )
    return f"""
        INSERT INTO ledger_ledgerentry (
            request_id, kind, service, method, provider, status, http_status, error_type,
            error_detail, cost, price, amount, currency, attempts, routing, latency_ms, channel,
            country, created_at, client_id, cached, free_call, reason)
        SELECT 'gen-' || %(tag)s || '-' || g, 'charge', {service}, {method}, {provider},
            {status}, 200, '', '', 0.0010, 0.0100, -0.0100, 'USD', '[]', '{{}}', 120,
            {channel}, 'DE', %(start)s + (g + t) * %(step)s, client_id, false, false, ''
        FROM (
            SELECT g, random() AS m, random() AS s, random() AS ch, random() AS t,
                {clients_sql} AS client_id
            FROM generate_series(1, %(n)s) g
        ) AS r
        ORDER BY g
    """  # noqa: S608 (our own constants only)


def generate_skewed_ledger(*, rows: int) -> SkewedLedger:
    """Clients and about `rows` charge rows over four months, then the rollup rebuilt."""
    plan, _ = Plan.objects.get_or_create(slug="scale", defaults={"name": "Scale"})
    made = Client.objects.bulk_create(
        Client(slug=f"scale-{i}", name=f"Scale {i}", country="DE", plan=plan)
        for i in range(BIG + MEDIUM + TINY + EMPTY)
    )
    ids = [c.pk for c in made]
    ledger = SkewedLedger(
        big=ids[:BIG],
        medium=ids[BIG : BIG + MEDIUM],
        tiny=ids[BIG + MEDIUM : BIG + MEDIUM + TINY],
        empty=ids[BIG + MEDIUM + TINY :],
    )
    b1, b2, b3 = ledger.big
    first_medium = ledger.medium[0]
    pick = f"WHEN x < 0.3 THEN {b1} WHEN x < 0.5 THEN {b2} WHEN x < 0.6 THEN {b3}"
    others = f"{first_medium} + floor(random() * {MEDIUM})::int"
    main = f"(SELECT CASE {pick} ELSE {others} END FROM (SELECT random() + g * 0 AS x) AS r)"  # noqa: S608
    tiny = f"{ledger.tiny[0]} + mod(g, {TINY})"
    period = timedelta(days=DAYS)
    # each month's partition, as migration ledger 0014 and beat make them (PostgreSQL)
    ledger_partitions_ensure()
    for month in months(month_of(START), month_of(START + period)):
        partition_create(connection, month)
    with connection.cursor() as cursor:
        main_params = {"tag": "m", "start": START, "n": rows, "step": period / rows}
        cursor.execute(_rows_sql(main), main_params)
        n_tiny = TINY * 3
        cursor.execute(
            _rows_sql(tiny), {"tag": "t", "start": START, "n": n_tiny, "step": period / n_tiny}
        )
        cursor.execute("ANALYZE ledger_ledgerentry")
    ledger_rollup_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_ledgerday")
    return ledger
