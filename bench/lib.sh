# Helpers of bench/run.sh (sourced): logging, the process list and its cleanup, waiting.
# Uses LOGDIR, VENV, WORKERS and UPSTREAM of run.sh; every process started goes into PIDS.

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
    # Children first: a server's workers outlive a parent killed before them.
    for pid in "${PIDS[@]}"; do
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    done
    log "logs and raw results in $LOGDIR"
    exit "$status"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() {  # wait_until <what> <command...>: retry for up to WAIT_SECONDS (30) s
    local what=$1 deadline=$((SECONDS + ${WAIT_SECONDS:-30}))
    shift
    while [ "$SECONDS" -lt "$deadline" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "$what did not come up; see $LOGDIR"
    exit 1
}

serve() {  # serve <name> <settings> <asgi app> <port>: the gateway's production command
    DJANGO_SETTINGS_MODULE=$2 BENCH_UPSTREAM_URL=$UPSTREAM \
        "$VENV/bin/gunicorn" "$3" -k uvicorn_worker.UvicornWorker -w "$WORKERS" --reuse-port \
        --bind "127.0.0.1:$4" >"$LOGDIR/$1.log" 2>&1 &
    PIDS+=($!)
}

start_upstream() {  # start_upstream <name> <port> <delay ms>: a fixer-format upstream
    "$PY" bench/upstream.py --port "$2" --delay-ms "$3" >"$LOGDIR/$1.log" 2>&1 &
    PIDS+=($!)
    wait_until "the $1" curl -sf "http://127.0.0.1:$2$UPSTREAM_QUERY"
}
