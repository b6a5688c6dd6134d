#!/usr/bin/env bash
# Builds kvw and runs every test: the C suites (plain, ASan+UBSan, TSan,
# valgrind), short libFuzzer runs, the CLI, the installed-package consumers,
# and the Go, Java and Ruby bindings. Installs what is missing first. Each suite starts its own
# nats-servers on free loopback ports. Exits non-zero if anything failed.
#
#   scripts/test.sh            everything
#   KVW_TEST_STAGES="c asan" scripts/test.sh    only some stages
set -uo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

scripts/install-deps.sh build-essential cmake ninja-build pkg-config git libnats-dev nats-server \
    libuv1-dev libcmocka-dev valgrind swig ruby ruby-dev openssl python3-cryptography \
    clang libclang-rt-14-dev nlohmann-json3-dev || exit 1

STAGES=${KVW_TEST_STAGES:-"c matrix cluster asan tsan valgrind fuzz bindings bindings-newest bench"}
passed=0
failed=0
failures=()
stage() {  # stage NAME COMMAND...
    local name=$1 start=$SECONDS
    shift
    printf '\n======== %s\n' "$name"
    if "$@"; then
        passed=$((passed + 1))
        printf '======== passed in %d s: %s\n' $((SECONDS - start)) "$name"
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf '######## FAILED (%d s): %s\n' $((SECONDS - start)) "$name"
    fi
}
want() { [[ " $STAGES " == *" $1 "* ]]; }
# A suite that failed: its failing lines go to the end of the output too,
# where a truncated CI log still shows them.
FAILED_LINES=$(mktemp)
trap 'rm -f "$FAILED_LINES"' EXIT
note_failure() {  # note_failure "WHAT" LOG
    { echo "$1:"; grep -E -m 8 'error:|\[  FAILED  \] [a-z]|want |FAILED' "$2" | sed 's/^/    /'; } >>"$FAILED_LINES"
}
failed_log() {  # failed_log "WHAT" LOG
    echo "FAILED: $1"
    tail -n 40 "$2"
    note_failure "$@"
}
ctest_in() {  # ctest_in DIR [ctest args...]
    local dir=$1
    shift
    ctest --test-dir "$dir" --output-on-failure "$@" ||
        { note_failure "ctest in $dir" "$dir/Testing/Temporary/LastTest.log"; return 1; }
}

build() {  # build DIR [cmake args...]
    local dir=$1
    shift
    # Tests on even if a reused build directory's cache turned them off.
    cmake -S "$ROOT" -B "$dir" -G Ninja -DKVW_BUILD_TESTS=ON "$@" >/dev/null &&
        cmake --build "$dir" --parallel
}

c_suites() {
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        ctest_in build --timeout 600
}
sanitized() (  # sanitized address|thread  (a subshell: the options stay in it)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$ROOT/tests/tsan.supp"
    build "build-$1" -DCMAKE_BUILD_TYPE=Debug -DKVW_SANITIZE="$1" &&
        ctest_in "build-$1" --timeout 900 --no-tests=error -LE no-sanitizer &&
        # The TTL paths (stream JSON, Nats-TTL, markers) run only on 2.11+,
        # transactions on 2.12+, bulk handles on 2.14+.
        on_server "$NEWEST" "build-$1/tests/test_ttl" &&
        on_server "$NEWEST" "build-$1/tests/test_txn" &&
        on_server "$NEWEST" "build-$1/tests/test_bulk" &&
        # Reads on a replicated bucket (key floors, leader reads, the 10164
        # resolve) on a 3-node cluster; the rest of rel_cluster is too heavy.
        for t in 'test_reads_see*' 'test_get_at_least*' 'test_bucket_without*'; do
            KVW_TEST_FILTER=$t on_server "$NEWEST" "build-$1/tests/reliability/test_rel_cluster" || return 1
        done
)
valgrind_suites() {
    build build &&
        KVW_TEST_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$ROOT/tests/valgrind.supp" \
            ctest_in build --timeout 1200 --no-tests=error -L valgrind
}

# The server matrix (scripts/nats-servers.sh): the C suites, the 0.1-ABI
# program and the CLI against every pinned server; the fault suites against
# the newest (the c stage runs them on Debian's 2.9.10, the oldest).
NEWEST=$(scripts/nats-servers.sh --list | tail -n 1)
on_server() {  # on_server VERSION COMMAND...: with that nats-server first on PATH
    local v=$1 bin dir
    shift
    bin=$(scripts/nats-servers.sh --path "$v") || return 1
    dir=$(mktemp -d) && ln -s "$bin" "$dir/nats-server" &&
        PATH=$dir:$PATH NATS_SERVER_BIN=$bin KVW_SERVER_VERSION=$v "$@"
    local rc=$?
    rm -rf "$dir"
    return $rc
}
matrix_one() {  # matrix_one VERSION
    local v=$1 t rc=0
    for t in conformance interop contract badinput ttl blocking txn bulk; do
        on_server "$v" build/tests/test_$t >"build/matrix-$v-$t.log" 2>&1 ||
            { failed_log "$t on nats-server $v" "build/matrix-$v-$t.log"; rc=1; }
        grep -h '^\[  SKIP    \]' "build/matrix-$v-$t.log" | sort | uniq -c | sed "s/^/  $t: /"
    done
    KVW_TEST_READ_MODE=leader on_server "$v" build/tests/test_conformance >"build/matrix-$v-leader.log" 2>&1 ||
        { failed_log "conformance with leader reads on nats-server $v" "build/matrix-$v-leader.log"; rc=1; }
    on_server "$v" build/tests/abi/abi_compat_v0_1 || { echo "FAILED: abi_compat_v0_1 on $v"; rc=1; }
    on_server "$v" build/tests/test_shim >"build/matrix-$v-shim.log" 2>&1 ||
        { failed_log "binding shim on nats-server $v" "build/matrix-$v-shim.log"; rc=1; }
    on_server "$v" bash tools/test_cli.sh build/tools/kvw | tail -n 1 || { echo "FAILED: CLI on $v"; rc=1; }
    # What kvw wrote, read by the official nats CLI (and the reverse).
    on_server "$v" bash tools/test_natscli.sh build/tools/kvw "$NATSCLI" | tail -n 1 ||
        { echo "FAILED: natscli interop on $v"; rc=1; }
    return $rc
}
matrix() {
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
    NATSCLI=$(scripts/nats-servers.sh --natscli) || return 1
    local v rc=0 start
    for v in $(scripts/nats-servers.sh --list); do
        start=$SECONDS
        matrix_one "$v" || rc=1
        echo "nats-server $v: C suites, ABI 0.1 program, CLI ($((SECONDS - start)) s)"
    done
    start=$SECONDS
    for t in restart stall close resend soak; do
        on_server "$NEWEST" build/tests/reliability/test_rel_$t >"build/matrix-$NEWEST-rel_$t.log" 2>&1 ||
            { failed_log "rel_$t on nats-server $NEWEST" "build/matrix-$NEWEST-rel_$t.log"; rc=1; }
    done
    echo "nats-server $NEWEST: fault suites ($((SECONDS - start)) s)"
    return $rc
}
# 3-node clusters (scripts/lib/nats-cluster.sh, tests/reliability/rel.c) with
# R3 buckets: leader kills, failover within the op deadline, racing CAS, TTL,
# and the CLI, on the newest server (the c stage runs rel_cluster on 2.9.10).
cluster() {
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
    local v rc=0
    on_server "$NEWEST" build/tests/reliability/test_rel_cluster >"build/cluster-$NEWEST.log" 2>&1 ||
        { failed_log "rel_cluster on nats-server $NEWEST" "build/cluster-$NEWEST.log"; rc=1; }
    grep -h -e '^FIGURES' -e 'SKIP' "build/cluster-$NEWEST.log"
    for v in "$(scripts/nats-servers.sh --list | head -n 1)" "$NEWEST"; do
        on_server "$v" bash tools/test_cli_cluster.sh build/tools/kvw | tail -n 2 ||
            { echo "FAILED: CLI on a 3-node cluster of $v"; rc=1; }
    done
    return $rc
}

want c && stage "C suites, CLI, ABI and consumers (ctest)" c_suites
want matrix && stage "server matrix: $(scripts/nats-servers.sh --list | tr '\n' ' ')" matrix
want cluster && stage "3-node clusters, R3 buckets (nats-server $NEWEST)" cluster
want asan && stage "C suites under ASan+UBSan" sanitized address
want tsan && stage "C suites under TSan" sanitized thread
want valgrind && stage "conformance under valgrind memcheck" valgrind_suites
# libFuzzer targets (clang), KVW_FUZZ_SECONDS each (default 20) from their corpus.
want fuzz && stage "fuzz targets (libFuzzer, ASan+UBSan)" tests/fuzz/run.sh "${KVW_FUZZ_SECONDS:-20}"
if want bindings; then
    for lang in go java ruby; do
        [[ -x bindings/$lang/run-tests.sh ]] && stage "$lang binding" "bindings/$lang/run-tests.sh"
    done
    stage "cross-language (Go, Java, Ruby)" bindings/cross/run-tests.sh
fi
if want bindings-newest; then
    for lang in go java ruby; do
        [[ -x bindings/$lang/run-tests.sh ]] &&
            stage "$lang binding on nats-server $NEWEST" on_server "$NEWEST" "bindings/$lang/run-tests.sh"
    done
fi
want bench && [[ -x scripts/bench-smoke.sh ]] && stage "benchmark smoke run" scripts/bench-smoke.sh
# The language rows (needs the bindings stage's builds): a few ops per language and client.
want bench && want bindings && stage "language benchmark smoke run" \
    scripts/bench-langs.sh --ops 3000 --sync-ops 200 --rounds 1

printf '\n'
((failed)) && printf 'failed stages: %s\n' "${failures[*]}"
[[ -s $FAILED_LINES ]] && { echo "failing suites and their first failing lines:"; cat "$FAILED_LINES"; }
printf 'stages: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
