# The catalog of bench/run.sh and its slow-upstream phase (sourced; issue #17's target 4).
#
# The gateway is pointed at another upstream the way ops would do it: bench/bench.yaml with
# another base_url, applied with `manage.py gateway_apply`. The apply bumps the catalog
# version and every worker reloads its catalog snapshot on its next call; switch_upstream
# waits until several calls in a row answer through fixer within the expected time, so the
# measured run starts only once the workers use the new upstream.

catalog_apply() {  # catalog_apply <upstream url>: bench.yaml with that base_url
    sed "s#@UPSTREAM@#$1#" bench/bench.yaml >"$LOGDIR/bench.yaml"
    "$PY" manage.py gateway_apply "$LOGDIR/bench.yaml" >>"$LOGDIR/configure.log" 2>&1
}

answers_within() {  # answers_within <min ms> <max ms>: 8 calls in a row, all through fixer in time
    local out ms
    for _ in $(seq 8); do
        out=$(curl -sS -o /dev/null -D - -w 'TIME %{time_total}\n' -X POST \
            "${URL_OF[gateway]}" -H "Authorization: ${AUTH_OF[gateway]}" \
            -H 'Content-Type: application/json' --data "${BODY_OF[gateway]}") || return 1
        head -n1 <<<"$out" | grep -q ' 200' || return 1
        grep -qi "^x-provider: fixer" <<<"$out" || return 1
        ms=$(awk '/^TIME / {printf "%d", $2 * 1000}' <<<"$out")
        [ "$ms" -ge "$1" ] && [ "$ms" -le "$2" ] || return 1
    done
}

switch_upstream() {  # switch_upstream slow|fast: the gateway's fixer at that upstream
    local url=$UPSTREAM min=0 max=$((SLOW_DELAY_MS / 2))
    if [ "$1" = slow ]; then
        url=$SLOW_UPSTREAM min=$((SLOW_DELAY_MS * 9 / 10)) max=$((SLOW_DELAY_MS + 1000))
    fi
    catalog_apply "$url" || { log "gateway_apply failed; see $LOGDIR/configure.log"; exit 1; }
    WAIT_SECONDS=60 wait_until "the gateway through $url (calls of $min-$max ms)" \
        answers_within "$min" "$max"
    log "the gateway calls $url: 8 calls in a row through fixer, each in $min-$max ms"
}

slow_phase() {  # slow_phase: one recorded run of the gateway through the slow upstream
    log "round $ROUND/$ROUNDS, slow: the gateway through a $SLOW_DELAY_MS ms upstream," \
        "$SLOW_CONNECTIONS connections for $DURATION"
    switch_upstream slow
    wrk_once slow "$SLOW_CONNECTIONS" "$WARMUP" >/dev/null   # its connections to the upstream
    measure slow "$SLOW_CONNECTIONS" "$DURATION"
    switch_upstream fast
}
