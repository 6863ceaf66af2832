#!/usr/bin/env bash
# The gateway benchmark, in one command (about 9 minutes; 11 with BENCH_PEERS=litellm):
#
#     bench/run.sh
#     BENCH_PEERS=litellm bench/run.sh      # with LiteLLM's proxy as a peer, in the same run
#
# Starts a fixer-format upstream (bench/upstream.py), the bare async Django proxy
# (bench/bare_proxy/, the stack's ceiling) and the gateway (production command: gunicorn +
# uvicorn workers, DEBUG off, PostgreSQL ledger on a fresh `gateway_bench` database, Redis),
# and with BENCH_PEERS=litellm the LiteLLM proxy (bench/peers/litellm.sh: a scratch venv of
# its own, as many processes as the gateway, routed to the same upstream). Then, for
# BENCH_ROUNDS rounds, each target in turn takes 64 connections, then 1; and the gateway,
# pointed at a second upstream that waits 200 ms per answer, 256 connections (bench/slow.sh).
# Prints requests/s, p50/p99 and errors per target and round, and the five targets of issue
# #17 on the medians of the rounds (bench/report.py). Any non-2xx answer, socket error or
# failed ledger row makes the run invalid (exit status 1); a missed target exits 2.
#
# Knobs (environment):
#   BENCH_ROUNDS (3), BENCH_DURATION (15s), BENCH_ONE_DURATION (10s: the 1-connection runs),
#   BENCH_WARMUP (3s), BENCH_CONNECTIONS (64), BENCH_WORKERS (2: processes of each server),
#   BENCH_PEERS (none; litellm: its venv goes to /tmp/gateway-bench-peers/, kept for reuse),
#   BENCH_SLOW_CONNECTIONS (256), BENCH_SLOW_DELAY_MS (200: the slow upstream's wait; 0 skips
#   the slow phase), BENCH_UPSTREAM_DELAY_MS (0: the fast upstream's wait),
#   BENCH_ADAPTER (currency.fixer; currency.sandbox runs the gateway alone, no upstream),
#   BENCH_BODY ('{"base":"EUR"}'), BENCH_PROFILE=1 (one more gateway run under py-spy,
#   profiles left in the log directory), BENCH_PORT_BASE (18081: five ports from it),
#   BENCH_RETRIES (2: a run during which other processes used > 0.1 core is repeated),
#   BENCH_QUIET_WAIT (90: seconds to wait for an idle machine before each run).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python

DURATION=${BENCH_DURATION:-15s}
ONE_DURATION=${BENCH_ONE_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ROUNDS=${BENCH_ROUNDS:-3}            # every target is measured this often, in turns
WORKERS=${BENCH_WORKERS:-2}
PEERS=${BENCH_PEERS:-}
SLOW_CONNECTIONS=${BENCH_SLOW_CONNECTIONS:-256}
SLOW_DELAY_MS=${BENCH_SLOW_DELAY_MS:-200}
ADAPTER=${BENCH_ADAPTER:-currency.fixer}
BODY=${BENCH_BODY:-'{"base":"EUR"}'}
PORT_BASE=${BENCH_PORT_BASE:-18081}
RETRIES=${BENCH_RETRIES:-2}          # runs disturbed by other work are repeated this often
QUIET_WAIT=${BENCH_QUIET_WAIT:-90}   # seconds to wait for an idle machine before each run
FOREIGN_MAX=0.1                      # cores other processes may use during a valid run
UPSTREAM_PORT=$PORT_BASE
BARE_PORT=$((PORT_BASE + 1))
GATEWAY_PORT=$((PORT_BASE + 2))
LITELLM_PORT=$((PORT_BASE + 3))
SLOW_PORT=$((PORT_BASE + 4))
UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
SLOW_UPSTREAM=http://127.0.0.1:$SLOW_PORT
CALL_PATH=/api/v1/services/currency/latest_rates/
# The query fixer gets for BODY; the bare proxy and the adapter send the same.
UPSTREAM_QUERY="/latest?access_key=bench&base=$(jq -r '.base // "EUR"' <<<"$BODY")"
WITH_LITELLM=0
for peer in $PEERS; do
    case $peer in
        litellm) WITH_LITELLM=1 ;;
        *) echo "BENCH_PEERS: unknown peer $peer (known: litellm)" >&2; exit 1 ;;
    esac
done
[ "$ADAPTER" = currency.fixer ] || { WITH_LITELLM=0; SLOW_DELAY_MS=0; }   # no upstream

DB_NAME=gateway_bench
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB_NAME
export REDIS_URL=redis://127.0.0.1:6379/9    # a database of its own (tests use 15)
# A fresh key each run: with DEBUG off the gateway refuses short or published keys.
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export SECRET_KEY
FIELD_ENCRYPTION_KEY=$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export FIELD_ENCRYPTION_KEY
export DEBUG=false LOG_LEVEL=WARNING ALLOWED_HOSTS=127.0.0.1,localhost
export PYTHONDONTWRITEBYTECODE=1
export GATEWAY_ENV_FILE=""   # never a developer's .env
export GATEWAY_EGRESS_ALLOW_PRIVATE=true   # the fake upstream listens on loopback
unset DJANGO_SETTINGS_MODULE

LOGDIR=$(mktemp -d /tmp/gateway-bench.XXXXXX)
RESULTS=$LOGDIR/results.jsonl
source bench/lib.sh
source bench/measure.sh
source bench/slow.sh
source bench/peers/litellm.sh
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in "$UPSTREAM_PORT" "$BARE_PORT" "$GATEWAY_PORT" "$LITELLM_PORT" "$SLOW_PORT"; do
    port_free "$port" || { log "port $port is in use (BENCH_PORT_BASE moves them)"; exit 1; }
done
command -v wrk >/dev/null || { log "wrk is missing: apt-get install -y wrk"; exit 1; }
if [ "$WITH_LITELLM" = 1 ]; then litellm_install; fi

# --- The machine --------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEMORY=$(free -h | awk '/^Mem:/ {print $2}')
COMMIT="${BENCH_CODE:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
if [ -n "$(git status --porcelain -- apps gateway_project 2>/dev/null)" ]; then
    COMMIT="$COMMIT + uncommitted changes in apps/ or gateway_project/"
fi
log "code: $COMMIT"
"$PY" bench/cpuacct.py quiet --max-busy 0.1 --wait "$QUIET_WAIT" || true
CALIBRATION=$("$PY" bench/cpuacct.py calibrate)
log "CPU speed check: $CALIBRATION ms for a fixed Python loop (lower is faster)"
log "machine: $(nproc) CPUs ($CPU_MODEL), $MEMORY RAM, load before run: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- A fresh database ---------------------------------------------------------------------
log "recreating database $DB_NAME and migrating"
PGOPTIONS=--client-min-messages=warning psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >/dev/null
redis-cli -n 9 FLUSHDB >/dev/null
"$PY" manage.py migrate --noinput -v 0 >"$LOGDIR/migrate.log" 2>&1

# --- The upstreams ------------------------------------------------------------------------
if [ "$ADAPTER" = currency.fixer ]; then
    start_upstream upstream "$UPSTREAM_PORT" "${BENCH_UPSTREAM_DELAY_MS:-0}"
fi
if [ "$SLOW_DELAY_MS" != 0 ]; then start_upstream slow-upstream "$SLOW_PORT" "$SLOW_DELAY_MS"; fi

# --- Catalog, plan, client, key -----------------------------------------------------------
log "configuring provider, plan, client and API key ($ADAPTER)"
if [ "$ADAPTER" = currency.fixer ] && "$PY" manage.py help gateway_apply >/dev/null 2>&1 \
    && "$PY" manage.py help create_api_key >/dev/null 2>&1; then
    catalog_apply "$UPSTREAM"
    API_KEY=$("$PY" manage.py create_api_key bench --name bench 2>>"$LOGDIR/configure.log" | tail -n1)
else
    SLOW_DELAY_MS=0   # the slow phase re-applies bench.yaml
    BASE_URL=$UPSTREAM
    [ "$ADAPTER" = currency.fixer ] || BASE_URL=sandbox://rates
    API_KEY=$("$PY" bench/setup_db.py --adapter "$ADAPTER" --slug "${ADAPTER#currency.}" \
        --base-url "$BASE_URL" 2>"$LOGDIR/configure.log" | tail -n1)
fi
[ -n "$API_KEY" ] || { log "no API key; see $LOGDIR/configure.log"; exit 1; }

# --- The targets: how wrk calls each (bench/measure.sh) -----------------------------------
TARGETS=()
add_target() {  # add_target <name> <url> <port> <body> <authorization>
    TARGETS+=("$1"); URL_OF[$1]=$2; PORT_OF[$1]=$3; BODY_OF[$1]=$4; AUTH_OF[$1]=$5
}
if [ "$ADAPTER" = currency.fixer ]; then
    add_target upstream "$UPSTREAM$UPSTREAM_QUERY" "$UPSTREAM_PORT" "" ""
    add_target bare "http://127.0.0.1:$BARE_PORT$CALL_PATH" "$BARE_PORT" "$BODY" "Api-Key $API_KEY"
fi
if [ "$WITH_LITELLM" = 1 ]; then
    litellm_start "$LITELLM_PORT" "$UPSTREAM"   # sets LITELLM_KEY; its start takes a while
    add_target litellm "http://127.0.0.1:$LITELLM_PORT/v1/chat/completions" "$LITELLM_PORT" \
        "$LITELLM_BODY" "Bearer $LITELLM_KEY"
fi
add_target gateway "http://127.0.0.1:$GATEWAY_PORT$CALL_PATH" "$GATEWAY_PORT" "$BODY" \
    "Api-Key $API_KEY"
# The gateway through the slow upstream: the same call, measured apart (bench/slow.sh).
URL_OF[slow]=${URL_OF[gateway]}; PORT_OF[slow]=$GATEWAY_PORT
BODY_OF[slow]=$BODY; AUTH_OF[slow]=${AUTH_OF[gateway]}

# --- The bare proxy and the gateway, with the same production command -----------------------
log "starting the bare proxy and the gateway ($WORKERS workers each)"
serve bare bench.bare_proxy.settings bench.bare_proxy.asgi:application "$BARE_PORT"
serve gateway gateway_project.settings gateway_project.asgi:application "$GATEWAY_PORT"
GATEWAY_PID=${PIDS[-1]}

call() {  # call <port>: one call, its headers and body on stdout
    curl -sS -i -X POST "http://127.0.0.1:$1$CALL_PATH" -H "Authorization: Api-Key $API_KEY" \
        -H 'Content-Type: application/json' --data "$BODY"
}
is_ok() { call "$1" | head -n1 | grep -q ' 200'; }
if [ "$ADAPTER" = currency.fixer ]; then wait_until "the bare proxy" is_ok "$BARE_PORT"; fi
wait_until "the gateway" is_ok "$GATEWAY_PORT"
ANSWER=$(call "$GATEWAY_PORT")
if ! grep -qi "^x-provider: ${ADAPTER#currency.}" <<<"$ANSWER" \
    || ! grep -q '"status": *"succeeded"' <<<"$ANSWER"; then
    log "the gateway did not answer through ${ADAPTER#currency.}:"; echo "$ANSWER" >&2; exit 1
fi
log "gateway answers through ${ADAPTER#currency.}: $(tail -n1 <<<"$ANSWER" | head -c 160)..."
if [ "$WITH_LITELLM" = 1 ]; then litellm_check "$LITELLM_PORT" "$UPSTREAM"; fi

# --- Load ---------------------------------------------------------------------------------
for target in "${TARGETS[@]}"; do
    # A server still starting one of its processes would be measured at half strength.
    if [ "$target" != upstream ]; then
        WAIT_SECONDS=300 wait_until "all $WORKERS processes of $target" all_workers_serve "$target"
    fi
    log "$target: warm-up $WARMUP"
    wrk_once "$target" "$CONNECTIONS" "$WARMUP" >/dev/null
done
# The targets take turns, round after round: this VM's speed drifts by 10-20 % within
# minutes, so each ratio compares runs made a minute apart, and the verdicts take medians.
# The slow phase closes each round, so its figure too sits next to the fast ones it is
# compared with.
for ROUND in $(seq 1 "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
        log "round $ROUND/$ROUNDS, $target: $CONNECTIONS connections for $DURATION, then 1 for $ONE_DURATION"
        measure "$target" "$CONNECTIONS" "$DURATION"
        measure "$target" 1 "$ONE_DURATION"
    done
    if [ "$SLOW_DELAY_MS" != 0 ]; then slow_phase; fi
done

if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    log "profiling both gateway workers with py-spy during one more $DURATION run (not recorded)"
    for worker in $(pgrep -P "$GATEWAY_PID"); do
        "$VENV/bin/py-spy" record --pid "$worker" --duration "${DURATION%s}" --rate 250 --gil \
            --nonblocking --format raw --output "$LOGDIR/profile-$worker.txt" \
            >"$LOGDIR/py-spy-$worker.log" 2>&1 &
        PIDS+=($!)
    done
    sleep 0.5
    wrk_once gateway "$CONNECTIONS" "$DURATION" >/dev/null
    sleep 2
fi

# --- Validity: every call succeeded, through the intended provider, with its ledger row -----
log "checking the ledger and the logs"
LEDGER=$(psql -h 127.0.0.1 -U postgres -d "$DB_NAME" -tA -F' ' -c \
    "SELECT count(*), count(*) FILTER (WHERE status <> 'succeeded' OR provider <> '${ADAPTER#currency.}') FROM ledger_ledgerentry")
read -r LEDGER_ROWS LEDGER_BAD <<<"$LEDGER"
# Holds never settled: calls cancelled when wrk closed its connections at the end of a run.
HOLDS_LEFT=$(psql -h 127.0.0.1 -U postgres -d "$DB_NAME" -tA \
    -c "SELECT count(*) FROM billing_credithold" 2>/dev/null || echo 0)
# The books: clients whose balance is not the sum of their ledger rows, or whose `held` is
# not the sum of their open holds (the money guarantees group commit must keep).
BOOKS_OFF=$(psql -h 127.0.0.1 -U postgres -d "$DB_NAME" -tA -c "SELECT count(*) FROM accounts_client c
    WHERE c.balance <> (SELECT COALESCE(sum(amount), 0) FROM ledger_ledgerentry WHERE client_id = c.id)
       OR c.held <> (SELECT COALESCE(sum(amount), 0) FROM billing_credithold WHERE client_id = c.id)")
GATEWAY_ERRORS=$(grep -cE 'ERROR|Traceback|CRITICAL' "$LOGDIR/gateway.log" || true)
if [ "$WITH_LITELLM" = 1 ] && grep -qE 'ERROR|Traceback' "$LOGDIR/litellm.log"; then
    log "WARNING: LiteLLM logged errors: $(grep -cE 'ERROR|Traceback' "$LOGDIR/litellm.log") lines in $LOGDIR/litellm.log"
fi

"$PY" -m bench.report "$RESULTS" --ledger-rows "$LEDGER_ROWS" --ledger-bad "$LEDGER_BAD" \
    --log-errors "$GATEWAY_ERRORS" --holds-left "$HOLDS_LEFT" --books-off "$BOOKS_OFF" \
    --slow-delay-ms "$SLOW_DELAY_MS" --slow-connections "$SLOW_CONNECTIONS" --workers "$WORKERS" \
    --machine "$(nproc) CPUs, $CPU_MODEL, $MEMORY RAM" --code "$COMMIT" \
    --calibration "$CALIBRATION" || STATUS=$?
if compgen -G "$LOGDIR/profile-*.txt" >/dev/null; then
    "$PY" bench/profile_summary.py "$LOGDIR"/profile-*.txt | tee "$LOGDIR/py-spy-summary.txt"
fi
exit "${STATUS:-0}"
