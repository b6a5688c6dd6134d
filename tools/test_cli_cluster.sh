#!/usr/bin/env bash
# The kvw tool against a private 3-node cluster (scripts/lib/nats-cluster.sh)
# and a bucket with three replicas, as KV is deployed:
#
#   tools/test_cli_cluster.sh path/to/kvw
#
# Writes and conflicts through all three URLs; the bucket's stream leader is
# stopped and the same writes go on (reads keep seeing what was written);
# on nats-server 2.11+ a create with --ttl expires and can be made again.
# NATS_SERVER_BIN may name the nats-server binary.
set -u
KVW=${1:?usage: test_cli_cluster.sh path/to/kvw}
KVW=$(cd "$(dirname "$KVW")" && pwd)/$(basename "$KVW")
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/nats-cluster.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/kvw-cli-cluster.XXXXXX")
trap 'nats_server_stop; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
unset NATS_URL KVW_BUCKET KVW_PASSWORD KVW_TOKEN

PASSED=0 FAILED=0
# t DESCRIPTION WANT_RC COMMAND ARGS...: runs kvw, checks the exit status; OUT holds stdout.
t() {
    local desc=$1 want=$2
    shift 2
    OUT=$("$KVW" "${S[@]}" "$@" 2>"$T/err" </dev/null)
    local rc=$?
    if [[ $rc == "$want" ]]; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        printf 'FAIL: %s: exit %s, want %s\n      stdout: %.300s\n      stderr: %.300s\n' "$desc" "$rc" "$want" \
            "$OUT" "$(<"$T/err")"
    fi
}
retry_ok() {  # retry_ok DESCRIPTION ARGS...: while a new leader is elected, kvw may say ENOTCONN (exit 1)
    local desc=$1 i
    shift
    for ((i = 0; i < 40; i++)); do
        OUT=$("$KVW" "${S[@]}" "$@" 2>"$T/err" </dev/null) && { PASSED=$((PASSED + 1)); return; }
        sleep 0.25
    done
    FAILED=$((FAILED + 1))
    printf 'FAIL: %s: no success within 10 s: %.300s\n' "$desc" "$(<"$T/err")"
}

# A cluster formed a moment ago drops JetStream requests until its meta
# leader is elected and answers "no suitable peers" until it knows them: the
# bucket opens anyway, within the op timeout (default 5 s).
nats_cluster_launch "$T/fresh" || { _nats_cluster_logs; exit 1; }
S=(--server "$NATS_CLUSTER_URLS" --bucket fresh --replicas 3)
t "R3 bucket on a cluster formed a moment ago" 0 put k v
nats_server_stop

nats_cluster_start "$T/main" || exit 1
S=(--server "$NATS_CLUSTER_URLS" --bucket clu --replicas 3 --timeout 10000)
t "put on R3" 0 put k one
v1=$OUT
t "update on R3" 0 update k two --expect "$v1"
v2=$OUT
t "stale update on R3: conflict" 3 update k three --expect "$v1"
t "create over a value: conflict" 3 create k x
t "get" 0 get k
[[ $OUT == two ]] || { FAILED=$((FAILED + 1)); echo "FAIL: get read '$OUT', want 'two'"; }
t "info" 0 info
[[ $OUT == *"server "* ]] || { FAILED=$((FAILED + 1)); echo "FAIL: info: $OUT"; }
version=$(sed -n 's/^server \([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' <<<"$OUT")
read -r major minor <<<"$version"

leader=$(nats_cluster_stream_leader KV_clu)
if [[ $leader =~ ^n([1-3])$ ]]; then
    PASSED=$((PASSED + 1))
    nats_cluster_node_stop $((BASH_REMATCH[1] - 1))
    retry_ok "update after the stream leader ($leader) stopped" update k three --expect "$v2"
    t "read after failover sees the last write" 0 get k
    [[ $OUT == three ]] || { FAILED=$((FAILED + 1)); echo "FAIL: get after failover read '$OUT'"; }
    nats_cluster_node_start $((BASH_REMATCH[1] - 1)) || { FAILED=$((FAILED + 1)); echo "FAIL: restart $leader"; }
else
    FAILED=$((FAILED + 1))
    echo "FAIL: no stream leader found for KV_clu"
fi

if ((major * 100 + minor >= 211)); then
    S=(--server "$NATS_CLUSTER_URLS" --bucket cluttl --replicas 3 --timeout 10000)
    retry_ok "create --ttl on R3" create lock a --ttl 1s
    t "held lock: create conflicts" 3 create lock b --ttl 1s
    sleep 2.5
    t "expired lock: get finds nothing" 4 get lock
    t "expired lock: create wins" 0 create lock b --ttl 5s
else
    echo "test_cli_cluster: SKIP TTL cases: per-key TTL needs nats-server 2.11 or newer (this is $major.$minor)"
fi
echo "test_cli_cluster: $PASSED passed, $FAILED failed"
((FAILED == 0))
