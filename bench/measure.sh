# One measured load run of bench/run.sh (sourced): wrk against a target, the CPU each process
# used meanwhile (bench/cpuacct.py), repeated when other work disturbed it, one JSON line
# appended to RESULTS. A target is a name with URL_OF, PORT_OF, BODY_OF and AUTH_OF entries
# (associative arrays of run.sh): an empty body means a plain GET (the upstream, straight).

declare -A URL_OF PORT_OF BODY_OF AUTH_OF

split_of() {  # split_of <port>: established connections per server process, e.g. 40/24
    ss -tnpH state established "( sport = :$1 )" | grep -o 'pid=[0-9]*' | sort | uniq -c \
        | awk '{print $1}' | sort -rn | paste -sd/
}

wrk_once() {  # wrk_once <target> <connections> <duration>: the BENCH json on stdout
    BENCH_BODY=${BODY_OF[$1]} BENCH_AUTH=${AUTH_OF[$1]} wrk -t1 -c"$2" -d"$3" --timeout 5s \
        -s bench/wrk/report.lua "${URL_OF[$1]}" | tee -a "$LOGDIR/wrk.log" | grep '^BENCH ' \
        | cut -c7-
}

all_workers_serve() {  # all_workers_serve <target>: a short load reaches WORKERS processes
    ( sleep 1; split_of "${PORT_OF[$1]}" >"$LOGDIR/split-check" ) &
    local sampler=$!
    wrk_once "$1" 16 2s >/dev/null
    wait "$sampler"
    [ "$(tr '/' '\n' <"$LOGDIR/split-check" | grep -c .)" -ge "$WORKERS" ]
}

sample_during() {  # sample_during <target> <seconds>: worker split and PostgreSQL connections
    sleep "$2"
    split_of "${PORT_OF[$1]}" >"$LOGDIR/split"
    case $1 in gateway | slow) ;; *) return 0 ;; esac
    psql -h 127.0.0.1 -U postgres -d postgres -tA -c "SELECT count(*) FROM
        pg_stat_activity WHERE datname = '$DB_NAME'" >"$LOGDIR/dbconns" 2>/dev/null
}

measure() {  # measure <target> <connections> <duration>: one recorded result
    local target=$1 conns=$2 duration=$3
    local line cpu foreign split dbconns attempt sampler discarded=0
    for attempt in $(seq 0 "$RETRIES"); do
        # Do not start on top of someone else's work (a test suite on the same 2 cores).
        "$PY" bench/cpuacct.py quiet --max-busy 0.1 --wait "$QUIET_WAIT" \
            || log "WARNING: the machine is busy with other work"
        "$PY" bench/cpuacct.py snap "$LOGDIR/cpu-before.json"
        rm -f "$LOGDIR/split" "$LOGDIR/dbconns"
        sampler=""
        if [ "$conns" -gt 1 ] && [ "$target" != upstream ]; then
            sample_during "$target" "$(( ${duration%s} / 2 ))" &
            sampler=$!
        fi
        line=$(wrk_once "$target" "$conns" "$duration")
        if [ -n "$sampler" ]; then wait "$sampler"; fi
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
        # A repeated run's errors still count: the answer was wrong whatever the machine did.
        discarded=$((discarded + $(jq '.non2xx + .socket_errors' <<<"$line")))
    done
    jq -c --arg t "$target" --argjson c "$conns" --argjson cpu "$cpu" --arg split "$split" \
        --argjson attempts "$((attempt + 1))" --argjson dbconns "${dbconns:-null}" \
        --argjson round "$ROUND" --argjson discarded "$discarded" \
        '. + {target: $t, connections: $c, cpu: $cpu, split: $split, attempts: $attempts,
              db_connections: $dbconns, round: $round, errors_discarded: $discarded}' \
        <<<"$line" >>"$RESULTS"
}
