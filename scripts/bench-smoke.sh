#!/usr/bin/env bash
# A short run of `kvw bench` for CI: a few ops, each delivery mode, the JSON
# output. Asserts nothing about speed, only that every run completes (exit
# 0: every op succeeded, the private nats-server came and went) and prints
# its ratio rows. Takes seconds.
#
#   scripts/bench-smoke.sh             builds ./build (as scripts/test.sh does)
#   KVW_BIN=path/to/kvw scripts/bench-smoke.sh
#
# NATS_SERVER_BIN may name the nats-server binary (else PATH, /usr/sbin).
set -uo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KVW=${KVW_BIN:-}
if [[ -z $KVW ]]; then
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVW_BUILD_TOOLS=ON >/dev/null &&
        cmake --build build --target kvw-cli >/dev/null || { echo "bench-smoke: build failed" >&2; exit 1; }
    KVW=build/tools/kvw
fi
[[ -x $KVW ]] || { echo "bench-smoke: $KVW is not an executable" >&2; exit 1; }
if [[ -z ${NATS_SERVER_BIN:-} ]] && ! command -v nats-server >/dev/null && [[ -x /usr/sbin/nats-server ]]; then
    export NATS_SERVER_BIN=/usr/sbin/nats-server
fi

OUT=$(mktemp "${TMPDIR:-/tmp}/kvw-bench-smoke.XXXXXX")
trap 'rm -f "$OUT"' EXIT
failed=0

# run NAME EXPECTED-PATTERN... -- kvw bench arguments
run() {
    local name=$1
    shift
    local patterns=()
    while [[ $1 != -- ]]; do
        patterns+=("$1")
        shift
    done
    shift
    printf '\n---- %s: kvw bench %s\n' "$name" "$*"
    local start=$SECONDS
    if ! timeout 120 "$KVW" bench "$@" >"$OUT" 2>&1; then
        cat "$OUT"
        printf 'FAIL %s: kvw bench exited non-zero\n' "$name"
        failed=$((failed + 1))
        return
    fi
    cat "$OUT"
    local p
    for p in "${patterns[@]}"; do
        if ! grep -Eq -- "$p" "$OUT"; then
            printf 'FAIL %s: no line matching /%s/\n' "$name" "$p"
            failed=$((failed + 1))
            return
        fi
    done
    printf 'ok %s (%ds)\n' "$name" $((SECONDS - start))
}

RATIOS=('^ratio kvw / raw js_PublishMsgAsync, SendAsap: [0-9.]+' '^ratio kvw / raw js_PublishMsgAsync, defaults: [0-9.]+'
        '^ratio kvw / kvStore_[A-Za-z]+(\(empty\))? loop: [0-9.]+')
COMMON=(--ops 3000 --kvstore-ops 200 --window 256 --rounds 2)

run "put, thread delivery" "${RATIOS[@]}" -- put "${COMMON[@]}"
run "update (CAS), poll delivery, 2 threads" "${RATIOS[@]}" '^kvw outcomes: 3000 ok, 0 conflicts' \
    -- update "${COMMON[@]}" --delivery poll --threads 2
run "delete_with_version, libuv delivery" "${RATIOS[@]}" -- delete_with_version "${COMMON[@]}" --delivery libuv
run "put against raw publishes with msg ids" '^ratio kvw / raw js_PublishMsgAsync\+id, SendAsap: [0-9.]+' \
    -- put "${COMMON[@]}" --raw-msg-id
run "get, memory storage" '^ratio kvw / raw async direct get, SendAsap: [0-9.]+' '^ratio kvw / kvStore_Get loop: [0-9.]+' \
    -- get "${COMMON[@]}" --storage memory
run "create, window 1, JSON" '"ratio_vs_raw_async":[0-9.]+' '"ratio_vs_kvstore_put":[0-9.]+' '"peak_rss_bytes":[1-9]' \
    -- create --ops 300 --kvstore-ops 100 --window 1 --json
# Transactions need nats-server 2.12+: the newest pinned server (scripts/nats-servers.sh).
if newest=$(scripts/nats-servers.sh --path "$(scripts/nats-servers.sh --list | tail -n 1)"); then
    NATS_SERVER_BIN=$newest run "transactions of 1, 10 and 1000 puts, memory storage" \
        '^ +1000 +[0-9]+ +[0-9]+ +[0-9.]+x' '^the server alone' \
        -- txn --ops 3000 --txn-sizes 1,10,1000 --storage memory --window 256
    NATS_SERVER_BIN=$newest run "bulk handle against raw publish and raw fast ingest (2.14+)" \
        '^kvw bulk / raw js_PublishMsgAsync: [0-9.]+x; kvw bulk / raw fast ingest: [0-9.]+x' '^kvw writes: [0-9]+ OK' \
        -- --mode bulk --ops 6000 --rounds 2 --window 2048
else
    printf 'FAIL transactions and bulk: no nats-server 2.14+ (scripts/nats-servers.sh)\n'
    failed=$((failed + 1))
fi

printf '\n'
if ((failed)); then
    printf 'bench-smoke: %d run(s) failed\n' "$failed"
    exit 1
fi
printf 'bench-smoke: all runs completed\n'
