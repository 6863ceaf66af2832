#!/usr/bin/env bash
# Load with faults, and a soak (a bench script, not a CI test):
#
#     bench/faults.sh            # ~1.5 min: steady load; Redis restarted, then PostgreSQL
#     bench/faults.sh soak       # SOAK_S (600) s of steady load; every worker's RSS sampled
#
# Each starts a PostgreSQL cluster and a Redis of its own on free loopback ports (never the
# machine's shared ones: initdb/pg_ctl as the postgres user, so run it as root), the local
# fixer-format upstream (bench/upstream.py) and the gateway with the Procfile's command
# (gunicorn + uvicorn workers, DEBUG off, GATEWAY_EGRESS_ALLOW_PRIVATE=true). An open-loop
# load generator (bench/fault_load.py) calls currency.latest_rates at a fixed rate with its
# own X-Request-ID, and every answer is matched with its ledger row (bench/fault_ledger.py);
# then `manage.py ledger_check --hold-age 0`. Prints Markdown tables; the logs, report.md
# and the soak's rss.csv stay in /tmp/gateway-<mode>-*. Exit status 1 when a ledger check
# fails or (soak) a worker's RSS drifts more than 10 % after the warm-up.
#
# Knobs (environment): FAULT_RATE (40 calls/s), FAULT_STEADY_S (15), FAULT_DOWN_S (8: how
# long Redis, then PostgreSQL, stays down), FAULT_RECOVER_S (20), FAULT_PG_STOP_MODE (fast;
# immediate is a crash), SOAK_S (600), SOAK_RATE (FAULT_RATE), SOAK_WARMUP_S (60),
# SOAK_SAMPLE_S (10), BENCH_WORKERS (2), FAULT_PYSPY (1: py-spy dump of every worker halfway
# through the PostgreSQL outage, into the log directory; PY_SPY names the binary if it is
# not in the venv).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
[ "$(id -u)" = 0 ] || { echo "bench/faults.sh runs initdb as the postgres user: run it as root" >&2; exit 1; }

# The Python process stops everything it started (its finally); a signal to this script is
# passed on to it so that the finally runs.
"$VENV/bin/python" -m bench.faults "${1:-faults}" &
CHILD=$!
trap 'kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD"' INT TERM
wait "$CHILD"
