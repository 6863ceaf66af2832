#!/usr/bin/env bash
# The gateway benchmark, in one command (about 6 minutes):
#
#     bench/run.sh
#
# Starts a fixer-format upstream (bench/upstream.py), the bare async Django proxy
# (bench/bare_proxy/, the stack's ceiling) and the gateway (production command: gunicorn +
# uvicorn workers, DEBUG off, PostgreSQL ledger on a fresh `gateway_bench` database, Redis),
# then loads each in turn with wrk, for BENCH_ROUNDS rounds: 64 connections, then 1
# connection. Prints requests/s, p50/p99 and errors per target and round, and checks the
# targets of docs/benchmarks.md on the medians of the rounds. Any non-2xx answer,
# socket error or failed ledger row makes the run invalid (exit status 1).
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_DURATION (15s), BENCH_ONE_DURATION (10s),
# BENCH_WARMUP (3s), BENCH_CONNECTIONS (64), BENCH_WORKERS (2), BENCH_ADAPTER (currency.fixer;
# currency.sandbox runs without the upstream), BENCH_BODY ('{"base":"EUR"}'), BENCH_PROFILE=1
# (one more gateway run under py-spy, profiles left in the log directory), BENCH_PORT_BASE
# (18081), BENCH_RETRIES (2: a run during which other processes used > 0.1 core is repeated),
# BENCH_QUIET_WAIT (90: seconds to wait for an idle machine before each run),
# BENCH_UPSTREAM_DELAY_MS (0: how long the upstream waits before each answer).
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
ADAPTER=${BENCH_ADAPTER:-currency.fixer}
BODY=${BENCH_BODY:-'{"base":"EUR"}'}
PORT_BASE=${BENCH_PORT_BASE:-18081}
RETRIES=${BENCH_RETRIES:-2}          # runs disturbed by other work are repeated this often
QUIET_WAIT=${BENCH_QUIET_WAIT:-90}   # seconds to wait for an idle machine before each run
FOREIGN_MAX=0.1                      # cores other processes may use during a valid run
UPSTREAM_PORT=$PORT_BASE
BARE_PORT=$((PORT_BASE + 1))
GATEWAY_PORT=$((PORT_BASE + 2))
UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
CALL_PATH=/api/v1/services/currency/latest_rates/
# The query fixer gets for BODY; the bare proxy and the adapter send the same.
UPSTREAM_QUERY="/latest?access_key=bench&base=$(jq -r '.base // "EUR"' <<<"$BODY")"

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
PIDS=()

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    log "logs and raw results in $LOGDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() {  # wait_until <what> <command...>: retry for up to 30 s
    local what=$1; shift
    for _ in $(seq 300); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "$what did not come up; see $LOGDIR"
    exit 1
}

for port in "$UPSTREAM_PORT" "$BARE_PORT" "$GATEWAY_PORT"; do
    port_free "$port" || { log "port $port is in use"; exit 1; }
done
command -v wrk >/dev/null || { log "wrk is missing: apt-get install -y wrk"; exit 1; }

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

# --- The upstream -------------------------------------------------------------------------
if [ "$ADAPTER" = currency.fixer ]; then
    "$PY" bench/upstream.py --port "$UPSTREAM_PORT" --delay-ms "${BENCH_UPSTREAM_DELAY_MS:-0}" \
        >"$LOGDIR/upstream.log" 2>&1 &
    PIDS+=($!)
    wait_until "the upstream" curl -sf "$UPSTREAM$UPSTREAM_QUERY"
fi

# --- Catalog, plan, client, key -----------------------------------------------------------
log "configuring provider, plan, client and API key ($ADAPTER)"
if [ "$ADAPTER" = currency.fixer ] && "$PY" manage.py help gateway_apply >/dev/null 2>&1 \
    && "$PY" manage.py help create_api_key >/dev/null 2>&1; then
    sed "s#@UPSTREAM@#$UPSTREAM#" bench/bench.yaml >"$LOGDIR/bench.yaml"
    "$PY" manage.py gateway_apply "$LOGDIR/bench.yaml" >"$LOGDIR/configure.log" 2>&1
    API_KEY=$("$PY" manage.py create_api_key bench --name bench 2>>"$LOGDIR/configure.log" | tail -n1)
else
    BASE_URL=$UPSTREAM
    [ "$ADAPTER" = currency.fixer ] || BASE_URL=sandbox://rates
    API_KEY=$("$PY" bench/setup_db.py --adapter "$ADAPTER" --slug "${ADAPTER#currency.}" \
        --base-url "$BASE_URL" 2>"$LOGDIR/configure.log" | tail -n1)
fi
[ -n "$API_KEY" ] || { log "no API key; see $LOGDIR/configure.log"; exit 1; }

# --- The bare proxy and the gateway, with the same production command -----------------------
serve() {  # serve <name> <settings> <asgi app> <port>
    DJANGO_SETTINGS_MODULE=$2 BENCH_UPSTREAM_URL=$UPSTREAM \
        "$VENV/bin/gunicorn" "$3" -k uvicorn_worker.UvicornWorker -w "$WORKERS" --reuse-port \
        --bind "127.0.0.1:$4" >"$LOGDIR/$1.log" 2>&1 &
    PIDS+=($!)
}
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

# --- Load ---------------------------------------------------------------------------------
split_of() {  # split_of <port>: established connections per server process, e.g. 40/24
    ss -tnpH state established "( sport = :$1 )" | grep -o 'pid=[0-9]*' | sort | uniq -c \
        | awk '{print $1}' | sort -rn | paste -sd/
}

wrk_once() {  # wrk_once <target> <connections> <duration> <url>: the BENCH json on stdout
    local body="" auth=""
    if [ "$1" != upstream ]; then body=$BODY; auth="Api-Key $API_KEY"; fi
    BENCH_BODY=$body BENCH_AUTH=$auth wrk -t1 -c"$2" -d"$3" --timeout 5s \
        -s bench/wrk/report.lua "$4" | tee -a "$LOGDIR/wrk.log" | grep '^BENCH ' | cut -c7-
}

measure() {  # measure <target> <connections> <duration> <url> <port>: one recorded result
    local target=$1 conns=$2 duration=$3 url=$4 port=$5
    local line cpu foreign split dbconns attempt splitter
    for attempt in $(seq 0 "$RETRIES"); do
        # Do not start on top of someone else's work (a test suite on the same 2 cores).
        "$PY" bench/cpuacct.py quiet --max-busy 0.1 --wait "$QUIET_WAIT" \
            || log "WARNING: the machine is busy with other work"
        "$PY" bench/cpuacct.py snap "$LOGDIR/cpu-before.json"
        rm -f "$LOGDIR/split" "$LOGDIR/dbconns"
        splitter=""
        if [ "$conns" -gt 1 ] && [ "$target" != upstream ]; then
            (
                sleep "$(( ${duration%s} / 2 ))"
                split_of "$port" >"$LOGDIR/split"
                psql -h 127.0.0.1 -U postgres -d postgres -tA -c "SELECT count(*) FROM
                    pg_stat_activity WHERE datname = '$DB_NAME'" >"$LOGDIR/dbconns" 2>/dev/null
            ) &
            splitter=$!
        fi
        line=$(wrk_once "$target" "$conns" "$duration" "$url")
        if [ -n "$splitter" ]; then wait "$splitter"; fi
        "$PY" bench/cpuacct.py snap "$LOGDIR/cpu-after.json"
        cpu=$("$PY" bench/cpuacct.py diff "$LOGDIR/cpu-before.json" "$LOGDIR/cpu-after.json" \
            --requests "$(jq .requests <<<"$line")")
        foreign=$(jq '.cores.foreign // 0' <<<"$cpu")
        split=$(cat "$LOGDIR/split" 2>/dev/null || true)
        dbconns=$(cat "$LOGDIR/dbconns" 2>/dev/null || echo null)
        log "$(printf '%-8s c=%-3s %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %s  split %s  foreign CPU %.2f cores' \
            "$target" "$conns" "$(jq .rps <<<"$line")" "$(jq .p50_ms <<<"$line")" \
            "$(jq .p99_ms <<<"$line")" "$(jq '.non2xx + .socket_errors' <<<"$line")" \
            "${split:--}" "$foreign")"
        # Other work on the machine during the run makes it unrepresentative: run it again.
        if jq -e --argjson max "$FOREIGN_MAX" '(.cores.foreign // 0) <= $max' <<<"$cpu" >/dev/null \
            || [ "$attempt" = "$RETRIES" ]; then
            break
        fi
        log "other processes used $foreign cores during that run; running it again"
    done
    jq -c --arg t "$target" --argjson c "$conns" --argjson cpu "$cpu" --arg split "$split" \
        --argjson attempts "$((attempt + 1))" --argjson dbconns "${dbconns:-null}" \
        --argjson round "$ROUND" \
        '. + {target: $t, connections: $c, cpu: $cpu, split: $split, attempts: $attempts,
              db_connections: $dbconns, round: $round}' <<<"$line" >>"$RESULTS"
}

TARGETS=(gateway)
URLS=("http://127.0.0.1:$GATEWAY_PORT$CALL_PATH")
PORTS=("$GATEWAY_PORT")
if [ "$ADAPTER" = currency.fixer ]; then
    TARGETS=(upstream bare gateway)
    URLS=("$UPSTREAM$UPSTREAM_QUERY" "http://127.0.0.1:$BARE_PORT$CALL_PATH" "${URLS[0]}")
    PORTS=("$UPSTREAM_PORT" "$BARE_PORT" "$GATEWAY_PORT")
fi
for i in "${!TARGETS[@]}"; do
    log "${TARGETS[$i]}: warm-up $WARMUP"
    wrk_once "${TARGETS[$i]}" "$CONNECTIONS" "$WARMUP" "${URLS[$i]}" >/dev/null
done
# The targets take turns, round after round: this VM's speed drifts by 10-20 % within
# minutes, so each ratio compares runs made a minute apart, and the verdicts take medians.
for ROUND in $(seq 1 "$ROUNDS"); do
    for i in "${!TARGETS[@]}"; do
        log "round $ROUND/$ROUNDS, ${TARGETS[$i]}: $CONNECTIONS connections for $DURATION, then 1 for $ONE_DURATION"
        measure "${TARGETS[$i]}" "$CONNECTIONS" "$DURATION" "${URLS[$i]}" "${PORTS[$i]}"
        measure "${TARGETS[$i]}" 1 "$ONE_DURATION" "${URLS[$i]}" "${PORTS[$i]}"
    done
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
    wrk_once gateway "$CONNECTIONS" "$DURATION" "${URLS[-1]}" >/dev/null
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
GATEWAY_ERRORS=$(grep -cE 'ERROR|Traceback|CRITICAL' "$LOGDIR/gateway.log" || true)

"$PY" bench/report.py "$RESULTS" --ledger-rows "$LEDGER_ROWS" --ledger-bad "$LEDGER_BAD" \
    --log-errors "$GATEWAY_ERRORS" --holds-left "$HOLDS_LEFT" \
    --machine "$(nproc) CPUs, $CPU_MODEL, $MEMORY RAM" --code "$COMMIT" \
    --calibration "$CALIBRATION" || STATUS=$?
if compgen -G "$LOGDIR/profile-*.txt" >/dev/null; then
    "$PY" bench/profile_summary.py "$LOGDIR"/profile-*.txt | tee "$LOGDIR/py-spy-summary.txt"
fi
exit "${STATUS:-0}"
