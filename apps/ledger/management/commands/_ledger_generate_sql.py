"""The SQL of ledger_generate: one accounting day of calls, and the monthly top-ups."""

from __future__ import annotations

from typing import Any

from apps.ledger.models import LedgerDay
from apps.ledger.rollup import DIMENSIONS

ROLLED_UP = ("calls", "cost", "revenue")

# One accounting day: %(...)s are parameters; the temporary tables are made in prepare().
DAY_SQL_TEMPLATE = """
WITH picked AS (
  SELECT c.cid, c.home, c.keys, random() AS r_status, random() AS r_extra, random() AS r_chan,
         random() AS r_country, random() AS r_key,
         CASE WHEN random() < 0.5 THEN c.fav ELSE floor(random() * %(n_offerings)s)::int END AS oi,
         %(start)s::timestamptz + random() * %(span)s * interval '1 second' AS at,
         20 + floor(random() ^ 3 * 2500)::int AS latency
  FROM gen_clients c
  CROSS JOIN LATERAL generate_series(
    1, (floor(c.n * %(f1)s + c.phase) - floor(c.n * %(f0)s + c.phase))::int) g
), shaped AS (
  SELECT p.*, o.service, o.method,
    CASE WHEN r_status < 0.95 THEN 'succeeded' WHEN r_status < 0.98 THEN 'failed'
         WHEN r_status < 0.995 THEN 'rejected' ELSE 'unknown' END AS status,
    CASE WHEN r_status < 0.95 OR r_status >= 0.995 THEN o.provider ELSE '' END AS provider,
    r_status < 0.95 AND r_extra < 0.05 AS cached,
    r_status < 0.95 AND r_extra > 0.98 AS free_call,
    o.cost AS full_cost, o.price AS full_price,
    CASE WHEN r_chan < 0.80 THEN 'http' WHEN r_chan < 0.88 THEN 'async'
         WHEN r_chan < 0.93 THEN 'ws' WHEN r_chan < 0.98 THEN 'mq' ELSE 'webhook' END AS channel
  FROM picked p JOIN gen_offerings o ON o.i = p.oi
), ins AS (
  INSERT INTO ledger_ledgerentry (
    request_id, kind, client_id, api_key_id, service, method, provider, status, http_status,
    error_type, error_detail, cost, price, amount, currency, cached, free_call, attempts,
    routing, latency_ms, channel, source_ip, country, reason, created_at)
  SELECT gen_random_uuid()::text, 'charge', cid, keys[1 + floor(r_key * cardinality(keys))::int],
    service, method, provider, status,
    CASE status WHEN 'succeeded' THEN 200 WHEN 'failed' THEN 502 WHEN 'rejected' THEN 422
         ELSE 504 END,
    CASE status WHEN 'succeeded' THEN '' WHEN 'failed' THEN 'upstream_error'
         WHEN 'rejected' THEN 'invalid_params' ELSE 'outcome_unknown' END,
    '',
    CASE WHEN status = 'succeeded' AND NOT cached THEN full_cost ELSE 0 END,
    CASE WHEN status = 'succeeded' AND NOT free_call THEN full_price ELSE 0 END,
    CASE WHEN status = 'succeeded' AND NOT free_call THEN -full_price ELSE 0 END,
    %(currency)s, cached, free_call,
    CASE WHEN cached THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
      'provider', CASE WHEN provider = '' THEN 'none' ELSE provider END,
      'outcome', CASE status WHEN 'succeeded' THEN 'ok' WHEN 'rejected' THEN 'rejected'
                 WHEN 'failed' THEN 'adapter_error' ELSE 'timeout' END,
      'latency_ms', latency)) END,
    jsonb_build_object('strategy', 'priority', 'candidates', jsonb_build_array(provider),
                       'skipped', '[]'::jsonb),
    latency, channel,
    CASE WHEN channel IN ('mq', 'webhook') THEN NULL
         ELSE ('198.51.100.' || (1 + floor(r_country * 250)::int))::inet END,
    CASE WHEN r_country < 0.9 THEN home
         ELSE (%(countries)s::text[])[1 + floor(r_chan * 10)::int] END,
    '', at
  FROM shaped ORDER BY at
  RETURNING client_id, service, method, provider, country, status, channel, cost, amount,
            created_at
), rollup AS (
{rollup}
), spent AS (
  SELECT client_id, sum(amount) AS moved, count(*) AS n FROM ins GROUP BY client_id
), bills AS (
  INSERT INTO gen_unpaid (cid, due)
  SELECT client_id, -moved FROM spent
  ON CONFLICT (cid) DO UPDATE SET due = gen_unpaid.due + EXCLUDED.due
)
UPDATE accounts_client SET balance = balance + spent.moved
FROM spent WHERE accounts_client.id = spent.client_id
RETURNING spent.n
"""


def day_sql() -> str:
    """DAY_SQL_TEMPLATE with the rollup's upsert over its current dimensions (rollup.py)."""
    table = LedgerDay._meta.db_table
    keys = ", ".join(DIMENSIONS)
    picked = ", ".join(
        "(created_at AT TIME ZONE %(tz)s)::date" if name == "day" else name for name in DIMENSIONS
    )
    groups = ", ".join(str(n + 1) for n in range(len(DIMENSIONS)))
    added = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in ROLLED_UP)
    # Only our model's identifiers are interpolated.
    rollup = (
        f"  INSERT INTO {table} ({keys}, calls, cost, revenue)\n"  # noqa: S608
        f"  SELECT {picked}, count(*), sum(cost), -sum(amount)\n"
        f"  FROM ins GROUP BY {groups}\n"
        f"  ON CONFLICT ({keys}) DO UPDATE SET {added}"
    )
    return DAY_SQL_TEMPLATE.replace("{rollup}", rollup)


# Early on the first day of a month, each client pays what it was charged the month before.
TOPUP_SQL = """
WITH paid AS (
  DELETE FROM gen_unpaid WHERE due > 0 RETURNING cid, due
), ins AS (
  INSERT INTO ledger_ledgerentry (
    request_id, kind, client_id, service, method, provider, status, error_type, error_detail,
    cost, price, amount, currency, cached, free_call, attempts, routing, channel, country,
    reason, created_at)
  SELECT gen_random_uuid()::text, 'topup', cid, '', '', '', 'succeeded', '', '', 0, 0, due,
         %(currency)s, false, false, '[]'::jsonb, '{}'::jsonb, 'staff', '', %(reason)s,
         %(at)s::timestamptz + random() * interval '1 hour'
  FROM paid
  RETURNING client_id, amount
)
UPDATE accounts_client SET balance = balance + ins.amount
FROM ins WHERE accounts_client.id = ins.client_id
"""


def load_temp_tables(cursor: Any, clients: list[Any], offerings: list[Any], seed: float) -> None:
    """The session's settings and the temporary tables DAY_SQL reads."""
    cursor.execute("SELECT setseed(%s)", [seed])
    # Compiling each day's statement (JIT, on the temp tables' guessed sizes) takes seconds;
    # the statements are simple.
    cursor.execute("SET jit = off")
    cursor.execute("SET work_mem = '128MB'")
    cursor.execute("SET synchronous_commit = off")
    for table in ("gen_clients", "gen_offerings", "gen_unpaid"):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(
        "CREATE TEMP TABLE gen_clients (cid int, n bigint, home text, keys text[], fav int, "
        "phase float8)"
    )
    cursor.executemany("INSERT INTO gen_clients VALUES (%s, %s, %s, %s, %s, %s)", clients)
    cursor.execute(
        "CREATE TEMP TABLE gen_offerings (i int, service text, method text, provider text, "
        "cost numeric, price numeric)"
    )
    cursor.executemany("INSERT INTO gen_offerings VALUES (%s, %s, %s, %s, %s, %s)", offerings)
    cursor.execute("CREATE TEMP TABLE gen_unpaid (cid int PRIMARY KEY, due numeric)")
    cursor.execute("ANALYZE gen_clients, gen_offerings")
