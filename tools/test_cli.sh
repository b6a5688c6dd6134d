#!/usr/bin/env bash
# Tests of the kvw command-line tool against private nats-servers.
#
#   tools/test_cli.sh path/to/kvw
#
# Starts its own nats-server (-js, loopback, a free port, a temporary store)
# plus two with authentication, and stops them on exit. Checks stdout and
# the exit status of every command. Exit 77 (skip) without nats-server.
# NATS_SERVER_BIN may name the nats-server binary.
set -u

KVW=${1:?usage: test_cli.sh path/to/kvw}
[[ -x $KVW ]] || { echo "test_cli: $KVW is not an executable" >&2; exit 1; }
KVW=$(cd "$(dirname "$KVW")" && pwd)/$(basename "$KVW")

NATS_SERVER=${NATS_SERVER_BIN:-}
[[ -x $NATS_SERVER ]] || NATS_SERVER=$(command -v nats-server || true)
[[ -x $NATS_SERVER ]] || NATS_SERVER=/usr/sbin/nats-server
if [[ ! -x $NATS_SERVER ]]; then
    echo "test_cli: SKIP: nats-server not found (set NATS_SERVER_BIN)"
    exit 77
fi

# The tool reads these; the tests set them explicitly where they are tested.
unset NATS_URL KVW_BUCKET KVW_PASSWORD KVW_TOKEN

T=$(mktemp -d "${TMPDIR:-/tmp}/kvw-cli-test.XXXXXX")
NATS_SERVER_BIN=$NATS_SERVER
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/nats-server.sh"
cleanup() {
    nats_server_stop
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME [nats-server args…]: sets URL and SERVER_PID.
start_server() {
    local dir=$T/$1
    shift
    nats_server_start "$dir" "$@" || exit 1
    URL=$NATS_SERVER_URL
    SERVER_PID=$NATS_SERVER_PID
}

# js_request SUBJECT JSON: one JetStream API request to $URL. Sets JS_REPLY.
js_request() {
    nats_request "$URL" "$1" "$2"
    JS_REPLY=$NATS_REPLY
    [[ -n $JS_REPLY ]]
}

FAILED=0
PASSED=0
OUT='' ERR='' RC=0

# run ARGS…: runs the tool with no stdin; sets OUT, ERR and RC.
run() {
    OUT=$("$KVW" "$@" </dev/null 2>"$T/stderr")
    RC=$?
    ERR=$(<"$T/stderr")
}

fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL: %.300s\n' "$1"
    printf '      kvw %.300s\n      exit %s\n      stdout: %.300s\n      stderr: %.300s\n' \
        "$CMD" "$RC" "$OUT" "$ERR"
}

# t DESCRIPTION WANT_RC WANT_STDOUT -- ARGS…: runs and checks exit status and
# stdout exactly. WANT_STDOUT "*" accepts any stdout, "#" a version number.
t() {
    local desc=$1 want_rc=$2 want_out=$3
    shift 4
    CMD="$*"
    run "$@"
    if [[ $RC != "$want_rc" ]]; then
        fail "$desc: exit $RC, want $want_rc"
    elif [[ $want_out == '#' ]]; then
        if [[ $OUT =~ ^[0-9]+$ ]]; then PASSED=$((PASSED + 1)); else fail "$desc: stdout is not a version"; fi
    elif [[ $want_out != '*' && $OUT != "$want_out" ]]; then
        fail "$desc: stdout '$OUT', want '$want_out'"
    else
        PASSED=$((PASSED + 1))
    fi
}

# err_has TEXT: the last command's stderr contains TEXT.
err_has() {
    if [[ $ERR == *"$1"* ]]; then PASSED=$((PASSED + 1)); else fail "stderr lacks '$1'"; fi
}
# err_lacks TEXT: the last command's stderr does not contain TEXT.
err_lacks() {
    if [[ $ERR != *"$1"* ]]; then PASSED=$((PASSED + 1)); else fail "stderr shows '$1'"; fi
}
# out_empty: writes on failure print nothing on stdout.
out_empty() {
    if [[ -z $OUT ]]; then PASSED=$((PASSED + 1)); else fail "stdout not empty"; fi
}

# ---------------------------------------------------------------- usage
# None of these may need a server: the URL points at a closed port, so a
# connection attempt would show up as exit 1, not 2.
DEAD=nats://127.0.0.1:1
t "--help" 0 '*' -- --help
[[ $OUT == *"usage: kvw"* && $OUT == *"exit status"* ]] || fail "--help text"
t "-h after a command" 0 '*' -- get k -h
t "--version" 0 '*' -- --version
[[ $OUT == kvw\ * ]] || fail "--version text"
t "no command" 2 '' -- --server $DEAD --bucket b
t "unknown command" 2 '' -- --server $DEAD --bucket b frob k
err_has "unknown command 'frob'"
t "unknown option" 2 '' -- --server $DEAD --bucket b --frob put k v
err_has "unknown option '--frob'"
t "option without value" 2 '' -- put k v --bucket
t "put without value" 2 '' -- --server $DEAD --bucket b put k
t "put with extra argument" 2 '' -- --server $DEAD --bucket b put k v w
t "get without key" 2 '' -- --server $DEAD --bucket b get
t "no bucket" 2 '' -- --server $DEAD get k
err_has "KVW_BUCKET"
t "bad bucket name" 2 '' -- --server $DEAD --bucket bad.name get k
err_has "kvw: bucket: KVW_EBADNAME:"
t "key with a space" 2 '' -- --server $DEAD --bucket b put "bad key" v
err_has "kvw: put: KVW_EBADKEY:"
t "key with leading dot" 2 '' -- --server $DEAD --bucket b get .k
err_has "KVW_EBADKEY"
t "key with .." 2 '' -- --server $DEAD --bucket b entry a..b
err_has "KVW_EBADKEY"
t "key with wildcard" 2 '' -- --server $DEAD --bucket b delete 'a.*'
err_has "KVW_EBADKEY"
t "update without --expect" 2 '' -- --server $DEAD --bucket b update k v
err_has "needs --expect"
t "update with a malformed version" 2 '' -- --server $DEAD --bucket b update k v --expect abc
err_has "kvw: update: KVW_EBADVERSION:"
t "update with the unknown version" 2 '' -- --server $DEAD --bucket b update k v --expect unknown
err_has "KVW_EBADVERSION"
t "put with --expect" 2 '' -- --server $DEAD --bucket b put k v --expect 3
t "get with --expect" 2 '' -- --server $DEAD --bucket b get k --expect 3
t "zero timeout" 2 '' -- --server $DEAD --bucket b --timeout 0 get k
t "non-numeric timeout" 2 '' -- --server $DEAD --bucket b --timeout soon get k
t "non-numeric --resend-after" 2 '' -- --server $DEAD --bucket b --resend-after soon get k
err_has "--resend-after needs"
t "zero --resend-after" 2 '' -- --server $DEAD --bucket b --resend-after 0 get k

# bench parses its own options (scripts/bench-smoke.sh runs it for real).
t "bench --help" 0 '*' -- bench --help
[[ $OUT == *"usage: kvw bench"* && $OUT == *"--window"* ]] || fail "bench --help text"
t "bench listed in --help" 0 '*' -- --help
[[ $OUT == *"bench [OP]"* ]] || fail "--help lacks bench"
t "bench, unknown op" 2 '' -- bench frob --server $DEAD
err_has "unexpected argument 'frob'"
t "bench, unknown option" 2 '' -- bench --frob 1 --server $DEAD
err_has "unknown option '--frob'"
t "bench, bad --delivery" 2 '' -- bench --delivery fast --server $DEAD
t "bench, zero --window" 2 '' -- bench --window 0 --server $DEAD
t "bench, --keys below --threads" 2 '' -- bench --keys 2 --threads 4 --server $DEAD
t "bench, closed port" 1 '' -- bench --ops 10 --server $DEAD

t "--ttl on get" 2 '' -- --server $DEAD --bucket b get k --ttl 5s
err_has "get does not take --ttl"
t "--ttl on delete --expect" 2 '' -- --server $DEAD --bucket b delete k --expect 3 --ttl 5s
t "--ttl not a duration" 2 '' -- --server $DEAD --bucket b create k v --ttl soon
err_has "--ttl needs a duration"
t "--ttl zero" 2 '' -- --server $DEAD --bucket b create k v --ttl 0s
t "--ttl negative" 2 '' -- --server $DEAD --bucket b create k v --ttl -5
t "--history out of range" 2 '' -- --server $DEAD --bucket b put k v --history 65
t "--replicas out of range" 2 '' -- --server $DEAD --bucket b put k v --replicas 6
t "--marker-ttl not a duration" 2 '' -- --server $DEAD --bucket b info --marker-ttl x

# ------------------------------------------------------------ no server
t "closed port" 1 '' -- --server $DEAD --bucket b get k
err_has "kvw: connect: KVW_ENOTCONN:"
t "closed port, password in the URL" 1 '' -- \
    --server nats://bob:hunter2@127.0.0.1:1,nats://tok3n@127.0.0.1:1 --bucket b get k
err_lacks "hunter2"
err_lacks "tok3n"
t "closed port, secrets in options" 1 '' -- \
    --server $DEAD --user bob --password hunter2 --token tok3n --bucket b get k
err_lacks "hunter2"
err_lacks "tok3n"

# ------------------------------------------------------------ the ops
start_server plain
S=(--server "$URL" --bucket cli)

t "put" 0 '#' -- "${S[@]}" put greeting hello
v_put=$OUT
t "get" 0 hello -- "${S[@]}" get greeting
t "entry" 0 "$v_put PUT hello" -- "${S[@]}" entry greeting
t "options after the command" 0 '#' -- put greeting "hello world" "${S[@]}"
((OUT > v_put)) || fail "versions do not increase: $v_put then $OUT"
t "--name=value options" 0 "hello world" -- --server="$URL" --bucket=cli get greeting
CMD="NATS_URL=… KVW_BUCKET=cli get greeting"
OUT=$(NATS_URL=$URL KVW_BUCKET=cli "$KVW" get greeting 2>"$T/stderr" </dev/null)
RC=$? ERR=$(<"$T/stderr")
[[ $RC == 0 && $OUT == "hello world" ]] && PASSED=$((PASSED + 1)) || fail "NATS_URL and KVW_BUCKET"
t "--bucket beats KVW_BUCKET" 0 '*' -- --server "$URL" --bucket cli get greeting
t "new bucket starts at version 1" 0 1 -- --server "$URL" --bucket other put k v
t "--timeout" 0 "v" -- --server "$URL" --bucket other --timeout 2000 get k

# create / update (CAS)
t "create" 0 '#' -- "${S[@]}" create color red
v_create=$OUT
t "create again: exists" 3 '' -- "${S[@]}" create color blue
err_has "kvw: create: KVW_EEXIST:"
t "update with the right version" 0 '#' -- "${S[@]}" update color blue --expect "$v_create"
v_update=$OUT
t "update with a stale version: conflict" 3 '' -- "${S[@]}" update color green --expect "$v_create"
err_has "kvw: update: KVW_ECONFLICT:"
t "get after update" 0 blue -- "${S[@]}" get color
t "update of a key never written: conflict" 3 '' -- "${S[@]}" update nokey v --expect "$v_update"
err_has "KVW_ECONFLICT"

# delete (DEL marker), then create again
t "delete" 0 '#' -- "${S[@]}" delete color
v_del=$OUT
t "get after delete: not found" 4 '' -- "${S[@]}" get color
err_has "kvw: get: KVW_ENOTFOUND:"
t "entry after delete" 0 "$v_del DEL" -- "${S[@]}" entry color
t "create after delete" 0 '#' -- "${S[@]}" create color purple
v_recreate=$OUT
t "get after re-create" 0 purple -- "${S[@]}" get color
t "delete of a key never written (best effort)" 0 '#' -- "${S[@]}" delete nokey

# delete --expect (CAS tombstone)
t "delete --expect stale: conflict" 3 '' -- "${S[@]}" delete color --expect "$v_update"
err_has "kvw: delete: KVW_ECONFLICT:"
t "delete --expect right" 0 '#' -- "${S[@]}" delete color --expect "$v_recreate"
v_tomb=$OUT
t "entry shows the tombstone" 0 "$v_tomb PUT" -- "${S[@]}" entry color
t "get of a tombstone: not found" 4 '' -- "${S[@]}" get color
t "create over a tombstone: exists" 3 '' -- "${S[@]}" create color red
err_has "KVW_EEXIST"
t "update over the tombstone" 0 '#' -- "${S[@]}" update color orange --expect "$v_tomb"
t "delete --expect on a key never written: conflict" 3 '' -- "${S[@]}" delete nokey2 --expect 1

# purge
t "purge" 0 '#' -- "${S[@]}" purge color
v_purge=$OUT
t "entry after purge" 0 "$v_purge PURGE" -- "${S[@]}" entry color
t "get after purge: not found" 4 '' -- "${S[@]}" get color
t "create after purge" 0 '#' -- "${S[@]}" create color teal

# nothing there
t "get of a key never written" 4 '' -- "${S[@]}" get never
out_empty
err_has "kvw: get: KVW_ENOTFOUND:"
t "entry of a key never written" 4 '' -- "${S[@]}" entry never
out_empty
err_has "kvw: entry: KVW_ENOTFOUND:"

# values
t "value after --" 0 '#' -- "${S[@]}" put dash -- --not-an-option
t "get it" 0 "--not-an-option" -- "${S[@]}" get dash
t "negative number as value" 0 '#' -- "${S[@]}" put neg -5
t "get it" 0 "-5" -- "${S[@]}" get neg
t "value with spaces and a newline" 0 '#' -- "${S[@]}" put ml $'a b\nc'
run "${S[@]}" get ml
[[ $RC == 0 && $OUT == $'a b\nc' ]] && PASSED=$((PASSED + 1)) || fail "multi-line value"
"$KVW" "${S[@]}" get ml >"$T/raw" 2>/dev/null
[[ $(od -An -c "$T/raw" | tr -d ' \n') == 'ab\nc\n' ]] && PASSED=$((PASSED + 1)) ||
    fail "get prints the value and exactly one newline"
t "empty value" 0 '#' -- "${S[@]}" put empty ""
v_empty=$OUT
t "get of an empty value: not found" 4 '' -- "${S[@]}" get empty
t "entry of an empty value" 0 "$v_empty PUT" -- "${S[@]}" entry empty
big=$(head -c 100000 /dev/zero | tr '\0' x)
t "100 kB value" 0 '#' -- "${S[@]}" put big "$big"
run "${S[@]}" get big
[[ $RC == 0 && ${#OUT} == 100000 ]] && PASSED=$((PASSED + 1)) || fail "100 kB value read back"

# A write whose ack never comes: a KV stream made with no_ack never answers
# publishes, so the op times out and its outcome is unknown (exit 5).
js_request '$JS.API.STREAM.CREATE.KV_noack' \
    '{"name":"KV_noack","subjects":["$KV.noack.>"],"max_msgs_per_subject":1,"discard":"new","allow_direct":true,"allow_rollup_hdrs":true,"deny_delete":true,"storage":"memory","num_replicas":1,"no_ack":true}'
CMD="(stream create)" OUT=$JS_REPLY ERR= RC=
[[ $JS_REPLY == *'"no_ack":true'* && $JS_REPLY != *'"error"'* ]] && PASSED=$((PASSED + 1)) ||
    fail "creating a no_ack KV stream"
t "write with no ack: outcome unknown" 5 '' -- --server "$URL" --bucket noack --timeout 300 put k v
err_has "kvw: put: KVW_ETIMEDOUT:"
# Resent with its write id until the deadline, still no ack: unknown, and it says how often.
t "no ack, resent every 200 ms" 5 '' -- --server "$URL" --bucket noack --timeout 1000 --resend-after 200 put k v
err_has "sends): the outcome is unknown"
t "--resend-after never: one send" 0 '#' -- "${S[@]}" --resend-after never put resend v1
t "--resend-after 200" 0 '#' -- "${S[@]}" --resend-after 200 put resend v2
t "read back" 0 v2 -- "${S[@]}" get resend

# ------------------------------------------------------------ read modes, --at-least
run "${S[@]}" put handed h1
v_handed=$OUT
t "get --at-least the version a put printed" 0 h1 -- "${S[@]}" get handed --at-least "$v_handed"
t "entry --at-least" 0 "$v_handed PUT h1" -- "${S[@]}" entry handed --at-least "$v_handed"
t "get --read leader" 0 h1 -- "${S[@]}" --read leader get handed
t "get --read direct" 0 h1 -- "${S[@]}" --read direct get handed
t "entry --read leader of a missing key" 4 '' -- "${S[@]}" --read leader entry never-written
t "--at-least a version the key never reaches: unknown after --timeout" 5 '' -- \
    "${S[@]}" --timeout 500 get handed --at-least 999999999
err_has "has not reached version 999999999"
t "--at-least on a write" 2 '' -- "${S[@]}" put handed v --at-least 1
err_has "does not take --at-least"
t "--at-least unknown" 2 '' -- "${S[@]}" get handed --at-least unknown
t "--read nonsense" 2 '' -- "${S[@]}" --read fast get handed
err_has "--read needs checked, direct or leader"

# ------------------------------------------------------------ per-key TTL
run "${S[@]}" info
CMD="info" 
[[ $RC == 0 && $OUT == "server "[0-9]*.[0-9]*.[0-9]* ]] && PASSED=$((PASSED + 1)) || fail "info: server version"
version=$(sed -n 's/^server \([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' <<<"$OUT")
read -r major minor <<<"$version"
TT=(--server "$URL" --bucket clittl)
if ((major * 100 + minor >= 211)); then
    t "create --ttl" 0 '#' -- "${TT[@]}" create lock owner --ttl 1s
    t "info: a bucket the tool made with --ttl has TTL" 0 '*' -- "${TT[@]}" info
    [[ $OUT == *$'\nttl yes'* && $OUT == *$'\nttl_on_write yes'* ]] && PASSED=$((PASSED + 1)) || fail "info: ttl yes"
    t "create --ttl again while held" 3 '' -- "${TT[@]}" create lock other --ttl 1s
    sleep 2.5
    t "expired: get" 4 '' -- "${TT[@]}" get lock
    t "expired: create wins" 0 '#' -- "${TT[@]}" create lock other --ttl 5s
    t "put --ttl, fractional seconds" 2 '' -- "${TT[@]}" put k v --ttl 1500ms
    err_has "KVW_EBADTTL"
    t "history 3: put --ttl refused" 1 '' -- --server "$URL" --bucket clittl3 --history 3 put k v --ttl 5s
    err_has "history 1"
    t "history 3: purge --ttl" 0 '#' -- --server "$URL" --bucket clittl3 purge k --ttl 5s
    t "history 3: delete --ttl refused" 1 '' -- --server "$URL" --bucket clittl3 delete k --ttl 5s
    t "delete --ttl" 0 '#' -- "${TT[@]}" delete k --ttl 5s
    t "plain bucket: create --ttl refused" 1 '' -- "${S[@]}" create tk v --ttl 5s
    err_has "KVW_ENOTSUP"
    t "enable-ttl" 0 '*' -- "${S[@]}" enable-ttl --marker-ttl 2s
    [[ $OUT == *$'\nttl yes'* && $OUT == *$'\nlimit_markers yes'* ]] && PASSED=$((PASSED + 1)) || fail "enable-ttl: info"
    t "after enable-ttl: create --ttl" 0 '#' -- "${S[@]}" create tk v --ttl 5s
else
    t "create --ttl on nats-server < 2.11" 1 '' -- "${TT[@]}" create lock owner --ttl 1s
    err_has "2.11"
    t "enable-ttl on nats-server < 2.11" 1 '' -- "${S[@]}" enable-ttl
    err_has "2.11"
fi

# ------------------------------------------------------------ multi-key reads
GM=(--server "$URL" --bucket cligm)
t "get-many without keys" 2 '' -- --server $DEAD --bucket b get-many
t "get-many: a bad key, before connecting" 2 '' -- --server $DEAD --bucket b get-many a "b c"
if ((major * 100 + minor >= 211)); then
    run "${GM[@]}" put a "hello world"
    va=$OUT
    run "${GM[@]}" delete d
    vd=$OUT
    t "get-many: values, markers, missing keys, one snapshot" 0 \
        "as-of $vd"$'\n'"a $va PUT hello world"$'\n'"d $vd DEL"$'\n'"zz - NONE" -- "${GM[@]}" get-many a d zz
    t "get-many --read leader" 1 '' -- "${GM[@]}" --read leader get-many a
    err_has "direct gets"
else
    t "get-many on nats-server < 2.11" 1 '' -- "${GM[@]}" get-many a
    err_has "2.11"
fi

# ------------------------------------------------------------ transactions
TX=(--server "$URL" --bucket clitxn)
t "txn with no writes" 2 '' -- --server $DEAD --bucket b txn
err_has "no writes given"
t "txn: unknown write" 2 '' -- --server $DEAD --bucket b txn "frob k"
t "txn: bad version" 2 '' -- --server $DEAD --bucket b txn "update k seven v"
if ((major * 100 + minor >= 212)); then
    t "txn creates its bucket, one write" 0 '#' -- "${TX[@]}" txn "put a 1"
    first=$OUT
    t "txn: every kind, one version a line" 0 '*' -- "${TX[@]}" txn "put p hello world" \
        "update a $first two" "create c v" "delete d" "delete a2"
    mapfile -t versions <<<"$OUT"
    if ((${#versions[@]} == 5 && versions[4] == versions[0] + 4)); then PASSED=$((PASSED + 1)); else
        fail "txn: five consecutive versions"; fi
    t "txn: what it put" 0 'hello world' -- "${TX[@]}" get p
    t "txn: stale update stores nothing" 3 '' -- "${TX[@]}" txn "put n 1" "update a $first stale"
    err_has "update of 'a'"
    out_empty
    t "txn: nothing of it stored" 4 '' -- "${TX[@]}" get n
    t "txn: create on a live key" 3 '' -- "${TX[@]}" txn "create p x"
    err_has "KVW_EEXIST"
    t "txn: CAS on a key written before in it" 2 '' -- "${TX[@]}" txn "put k 1" "update k 3 v"
    err_has "cannot check"
    OUT=$(printf 'put s1 a\n# a comment\n\ndelete s2\n' | "$KVW" "${TX[@]}" txn 2>"$T/stderr")
    RC=$? ERR=$(<"$T/stderr") CMD="txn < lines"
    [[ $RC == 0 && $(wc -l <<<"$OUT") == 2 ]] && PASSED=$((PASSED + 1)) || fail "txn: lines on stdin"
    t "txn on a bucket without allow_atomic" 1 '' -- "${S[@]}" txn "put k v"
    err_has "allow_atomic"
else
    t "txn on nats-server < 2.12" 1 '' -- "${TX[@]}" txn "put a 1"
    err_has "2.12"
fi

# ------------------------------------------------------------ load
LD=(--server "$URL" --bucket clild)
# stdin_t DESCRIPTION WANT_RC INPUT -- ARGS…: like t, with INPUT on stdin.
stdin_t() {
    local desc=$1 want_rc=$2 input=$3
    shift 4
    CMD="$* < lines"
    OUT=$(printf '%b' "$input" | "$KVW" "$@" 2>"$T/stderr")
    RC=$? ERR=$(<"$T/stderr")
    if [[ $RC == "$want_rc" ]]; then PASSED=$((PASSED + 1)); else fail "$desc: exit $RC, want $want_rc"; fi
}
lines=$(for i in $(seq 1 3000); do echo "put k$i v$i"; done)
stdin_t "load: 3,002 writes" 0 "$lines\ndelete k5\n# a comment\n\npurge k6\n" -- "${LD[@]}" load
if [[ $OUT == "loaded 3002 writes ("*"): 3002 stored, 0 failed, 0 outcome unknown" ]]; then PASSED=$((PASSED + 1)); else
    fail "load: summary"; fi
if ((major * 100 + minor >= 214)); then
    [[ $OUT == *"bulk: fast-ingest batches"* ]] && PASSED=$((PASSED + 1)) || fail "load: bulk on 2.14+"
else
    [[ $OUT == *"one ack per write"* ]] && PASSED=$((PASSED + 1)) || fail "load: plain writes before 2.14"
fi
t "load: what it put" 0 'v2999' -- "${LD[@]}" get k2999
t "load: what it deleted" 4 '' -- "${LD[@]}" get k5
t "load: what it purged" 4 '' -- "${LD[@]}" get k6
stdin_t "load: a bad line stops it" 2 'put a 1\nfrob x\nput b 2\n' -- "${LD[@]}" load
err_has "line 2"
t "load: the line before it is stored" 0 '1' -- "${LD[@]}" get a
t "load: the line after it is not" 4 '' -- "${LD[@]}" get b
stdin_t "load: a bad key" 2 'put bad..key 1\n' -- "${LD[@]}" load
err_has "KVW_EBADKEY"
stdin_t "load: a bucket without fast-ingest batches" 0 'put z 1\n' -- "${S[@]}" load
[[ $OUT == *"one ack per write"* ]] && PASSED=$((PASSED + 1)) || fail "load: plain bucket"

# A server that accepts the TCP connection but never speaks (stopped): the
# connect times out. Nothing was written, so exit 1, not 5.
start_server stopped
kill -STOP "$SERVER_PID"
t "server that never answers: connect times out" 1 '' -- --server "$URL" --bucket b put k v
err_has "kvw: connect: KVW_"
kill -CONT "$SERVER_PID"

# A value larger than the bucket accepts (a KV stream made with
# max_msg_size 16): refused at submit time, exit 2.
js_request '$JS.API.STREAM.CREATE.KV_small' \
    '{"name":"KV_small","subjects":["$KV.small.>"],"max_msgs_per_subject":1,"discard":"new","allow_direct":true,"allow_rollup_hdrs":true,"deny_delete":true,"storage":"memory","num_replicas":1,"max_msg_size":16}'
CMD="(stream create)" OUT=$JS_REPLY ERR= RC=
[[ $JS_REPLY == *'"max_msg_size":16'* && $JS_REPLY != *'"error"'* ]] && PASSED=$((PASSED + 1)) ||
    fail "creating a KV stream with max_msg_size 16"
t "value within the bucket's limit" 0 '#' -- --server "$URL" --bucket small put k 0123456789abcdef
t "value over the bucket's limit" 2 '' -- --server "$URL" --bucket small put k 0123456789abcdefX
err_has "kvw: put: KVW_ETOOBIG:"

# ------------------------------------------------------- authentication
start_server userpass --user alice --pass wonderland
t "user and password" 0 '#' -- --server "$URL" --bucket auth --user alice --password wonderland put k v
CMD="KVW_PASSWORD=… --user alice get k"
OUT=$(KVW_PASSWORD=wonderland "$KVW" --server "$URL" --bucket auth --user alice get k 2>"$T/stderr" </dev/null)
RC=$? ERR=$(<"$T/stderr")
[[ $RC == 0 && $OUT == v ]] && PASSED=$((PASSED + 1)) || fail "KVW_PASSWORD"
t "wrong password" 1 '' -- --server "$URL" --bucket auth --user alice --password guess put k v
err_has "KVW_EAUTH"
err_lacks "guess"
t "password in the URL" 0 v -- --server "nats://alice:wonderland@${URL#nats://}" --bucket auth get k
t "wrong password in the URL" 1 '' -- --server "nats://alice:secret42@${URL#nats://}" --bucket auth get k
err_lacks "secret42"

start_server token --auth t0ken-s3cret
t "token" 0 '#' -- --server "$URL" --bucket auth --token t0ken-s3cret put k v
CMD="KVW_TOKEN=… get k"
OUT=$(KVW_TOKEN=t0ken-s3cret "$KVW" --server "$URL" --bucket auth get k 2>"$T/stderr" </dev/null)
RC=$? ERR=$(<"$T/stderr")
[[ $RC == 0 && $OUT == v ]] && PASSED=$((PASSED + 1)) || fail "KVW_TOKEN"
t "wrong token" 1 '' -- --server "$URL" --bucket auth --token wr0ng-t0ken get k
err_has "KVW_EAUTH"
err_lacks "wr0ng-t0ken"

# Missing files: refused (how exactly is the library's business), no secrets shown.
run --server "$URL" --bucket auth --creds "$T/missing.creds" get k
CMD="--creds missing"
[[ $RC != 0 && $ERR == "kvw: connect: KVW_"* ]] && PASSED=$((PASSED + 1)) || fail "missing creds file"
run --server "$URL" --bucket auth --token t0ken-s3cret --tls-ca "$T/missing.pem" get k
CMD="--tls-ca missing"
[[ $RC != 0 && $ERR == "kvw: connect: KVW_"* ]] && PASSED=$((PASSED + 1)) || fail "missing CA file"
err_lacks "t0ken-s3cret"

echo "test_cli: $PASSED passed, $FAILED failed"
((FAILED == 0))
