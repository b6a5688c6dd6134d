#!/usr/bin/env bash
# What kvw writes is ordinary KV data for the official `nats` CLI (natscli,
# a reader nobody here wrote), with write ids (resends on) and without:
# values, revisions, DEL/PURGE markers, tombstones, and the one header a
# kvw write adds (Nats-Msg-Id). And the reverse: what natscli writes, kvw reads.
#
#   tools/test_natscli.sh path/to/kvw path/to/nats
#
# Starts its own nats-server (NATS_SERVER_BIN, else nats-server on PATH).
set -u

KVW=${1:?usage: test_natscli.sh path/to/kvw path/to/nats}
NATS=${2:?usage: test_natscli.sh path/to/kvw path/to/nats}
T=$(mktemp -d "${TMPDIR:-/tmp}/kvw-natscli.XXXXXX")
NATS_SERVER_BIN=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/nats-server.sh"
trap 'nats_server_stop; rm -rf "$T"' EXIT
nats_server_start "$T/server" || exit 1
URL=$NATS_SERVER_URL

PASSED=0 FAILED=0
check() {  # check WHAT WANT GOT
    if [[ $2 == "$3" ]]; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        printf 'FAIL: %s\n  want: %q\n  got:  %q\n' "$1" "$2" "$3"
    fi
}
kvw() { "$KVW" --server "$URL" "$@" 2>&1; }
nats() { "$NATS" --server "$URL" "$@" 2>&1; }
# The Op column of `nats kv history` for a key, one per revision: "1 PUT 2 PUT 3 DELETE".
ops_of() { nats kv history "$1" "$2" | awk -F'│' 'NF > 6 && $3 ~ /[0-9]/ { gsub(/ /, "", $3); gsub(/ /, "", $4); printf "%s%s %s", sep, $3, $4; sep = " " }'; }

for mode in 1000 never; do
    B=nc_$mode
    K=(--bucket "$B" --history 5 --resend-after "$mode")
    v1=$(kvw "${K[@]}" put k hello)
    v2=$(kvw "${K[@]}" update k world --expect "$v1")
    check "$mode: natscli get" world "$(nats kv get "$B" k --raw)"
    check "$mode: natscli get --revision" hello "$(nats kv get "$B" k --revision "$v1" --raw)"
    v3=$(kvw "${K[@]}" delete k)
    c1=$(kvw "${K[@]}" create c first)
    t1=$(kvw "${K[@]}" delete c --expect "$c1")
    p1=$(kvw "${K[@]}" put p x)
    p2=$(kvw "${K[@]}" purge p)
    check "$mode: history of k" "$v1 PUT $v2 PUT $v3 DELETE" "$(ops_of "$B" k)"
    check "$mode: a tombstone is an empty PUT" "$c1 PUT $t1 PUT" "$(ops_of "$B" c)"
    check "$mode: purge leaves one PURGE marker" "$p2 PURGE" "$(ops_of "$B" p)"
    check "$mode: deleted key not found" 1 "$(nats kv get "$B" k --raw >/dev/null; echo $?)"
    # The only header a kvw write adds: Nats-Msg-Id, with resends on.
    headers=$(nats stream get "KV_$B" "$v1" | sed -n '/^Headers:/,/^$/p' | grep -c 'Nats-Msg-Id:')
    check "$mode: write id header" "$([[ $mode == never ]] && echo 0 || echo 1)" "$headers"
    # natscli writes, kvw reads and writes over it.
    nats kv put "$B" fromcli cli-value >/dev/null
    check "$mode: kvw reads natscli's put" cli-value "$(kvw "${K[@]}" get fromcli)"
    rev=$(kvw "${K[@]}" entry fromcli | cut -d' ' -f1)
    kvw "${K[@]}" update fromcli by-kvw --expect "$rev" >/dev/null
    check "$mode: natscli reads kvw's update" by-kvw "$(nats kv get "$B" fromcli --raw)"
done

echo "test_natscli: $PASSED passed, $FAILED failed"
((FAILED == 0))
