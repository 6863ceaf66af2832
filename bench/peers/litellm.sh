# The LiteLLM proxy as a peer of the gateway in bench/run.sh (sourced, BENCH_PEERS=litellm).
#
# LiteLLM is never a dependency of the project: it goes into a scratch venv of its own,
# outside the repository, installed from the package index with the exact versions of
# bench/peers/litellm-requirements.txt and reused by later runs while that file is unchanged
# (/tmp/gateway-bench-peers/litellm-<version>-<hash of the file>: bench/cpuacct.py knows its
# processes by that path).
# Uses log, wait_until, PIDS, LOGDIR, WORKERS of bench/lib.sh and run.sh.

LITELLM_REQUIREMENTS=bench/peers/litellm-requirements.txt
# The call: OpenAI's chat completions, the path LiteLLM's proxy is built around.
LITELLM_BODY='{"model":"bench-chat","messages":[{"role":"user","content":"The latest EUR rates"}]}'

litellm_venv() {  # the venv's directory for the pinned versions
    local version digest
    version=$(sed -n 's/^litellm\[proxy\]==//p' "$LITELLM_REQUIREMENTS")
    digest=$(sha256sum "$LITELLM_REQUIREMENTS" | cut -c1-8)
    echo "/tmp/gateway-bench-peers/litellm-$version-$digest"
}

litellm_install() {  # litellm_install: the venv, made once (its marker says it is complete)
    local venv started
    venv=$(litellm_venv)
    if [ -f "$venv/.complete" ]; then
        log "LiteLLM: reusing $venv"
        return 0
    fi
    log "LiteLLM: installing $(grep -m1 '^litellm' "$LITELLM_REQUIREMENTS") into $venv"
    started=$(date +%s)
    rm -rf "$venv" "$(dirname "$venv")"/litellm-*   # this one half made, or older pins
    "$(readlink -f "$PY")" -m venv "$venv"
    if ! "$venv/bin/pip" install -q --disable-pip-version-check -r "$LITELLM_REQUIREMENTS" \
        >"$LOGDIR/litellm-install.log" 2>&1; then
        log "LiteLLM: pip install failed; see $LOGDIR/litellm-install.log:"
        grep -E '^ERROR' "$LOGDIR/litellm-install.log" | head -n5 >&2
        exit 1
    fi
    touch "$venv/.complete"
    log "LiteLLM: installed in $(( $(date +%s) - started )) s"
}

litellm_start() {  # litellm_start <port> <upstream url>: the proxy, WORKERS processes
    local venv
    venv=$(litellm_venv)
    sed "s#@UPSTREAM@#$2#" bench/peers/litellm-config.yaml >"$LOGDIR/litellm-config.yaml"
    LITELLM_KEY=sk-bench-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
    # A clean environment: LiteLLM reads DATABASE_URL, REDIS_* and others of the gateway's.
    # uvicorn's supervisor kills a worker that does not answer its ping within 5 s and starts
    # another (a minute of imports here); on these shared 2 cores a loaded worker can miss
    # that, so it gets the 30 s that gunicorn gives the gateway's workers.
    env -i PATH=/usr/bin:/bin HOME="$venv" LANG=C.UTF-8 NO_PROXY=127.0.0.1,localhost \
        LITELLM_MASTER_KEY="$LITELLM_KEY" LITELLM_LOG=ERROR LITELLM_LOCAL_MODEL_COST_MAP=True \
        LITELLM_TELEMETRY_DISABLED=true \
        "$venv/bin/litellm" --config "$LOGDIR/litellm-config.yaml" --host 127.0.0.1 \
        --port "$1" --num_workers "$WORKERS" --timeout_worker_healthcheck 30 \
        >"$LOGDIR/litellm.log" 2>&1 &
    PIDS+=($!)
    LITELLM_STARTED=$SECONDS
}

litellm_call() {  # litellm_call <port>: one chat completion, headers and body on stdout
    curl -sS -i "http://127.0.0.1:$1/v1/chat/completions" -H "Authorization: Bearer $LITELLM_KEY" \
        -H 'Content-Type: application/json' --data "$LITELLM_BODY"
}

litellm_check() {  # litellm_check <port> <upstream url>: up, and answering from that upstream
    local answer
    WAIT_SECONDS=300 wait_until "LiteLLM" \
        curl -sf --max-time 5 "http://127.0.0.1:$1/health/liveliness"
    answer=$(litellm_call "$1")
    if ! head -n1 <<<"$answer" | grep -q ' 200' \
        || ! grep -qi "^x-litellm-model-api-base: $2/v1" <<<"$answer" \
        || ! grep -q '"chatcmpl-bench' <<<"$answer"; then
        log "LiteLLM did not answer through the bench upstream:"; echo "$answer" >&2; exit 1
    fi
    log "LiteLLM up $((SECONDS - LITELLM_STARTED)) s after its start, answers through $2 (cost $(grep -i '^x-litellm-response-cost:' <<<"$answer" \
        | cut -d' ' -f2 | tr -d '\r') per call): $(tail -n1 <<<"$answer" | head -c 120)..."
}
