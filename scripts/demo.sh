#!/usr/bin/env bash
# kvw demo: from a fresh Debian 12 machine to a walk through kvw's writes.
#
#   scripts/demo.sh          (as root, or as a user who may sudo)
#
# 1. installs what is missing with apt-get (nothing when all is there);
# 2. configures and builds kvw (Release) into ./build;
# 3. starts a private nats-server with JetStream on a free loopback port and
#    a temporary store, stopped again when the script exits;
# 4. runs the `kvw` tool, printing each command, its output and exit status,
#    and stops with an error if any command behaves unexpectedly.
# Needs no input; exits 0 when the walk-through behaved as documented.
set -euo pipefail
exec </dev/null

cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages
# install-deps.sh: dpkg -s each, then apt-get update once + install, only if
# something is missing (root, or sudo -n: it never waits for a password).
say "packages"
scripts/install-deps.sh build-essential cmake ninja-build pkg-config libnats-dev nats-server \
    libuv1-dev libcmocka-dev
echo "packages ready"

# ------------------------------------------------------------------- build
say "building kvw (Release) into ./build"
generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja) # keep an existing build's generator
# Only the build type is set: ./build is shared with scripts/test.sh, which
# needs the default options (tests on) to stay in its cache.
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel
KVW=$PWD/build/tools/kvw
[[ -x $KVW ]] || die "the build did not produce $KVW"

# ------------------------------------------------------------------ server
source scripts/lib/nats-server.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvw-demo.XXXXXX")
cleanup() {
    nats_server_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting a private nats-server (JetStream, loopback, free port, store in $TMP)"
nats_server_start "$TMP" || die "nats-server did not start"
url=$NATS_SERVER_URL

export NATS_URL=$url KVW_BUCKET=demo
unset KVW_PASSWORD KVW_TOKEN
say "walk-through with the kvw tool (build/tools/kvw)"
printf 'NATS_URL=%s  KVW_BUCKET=%s  (the bucket is created on first use)\n' "$NATS_URL" "$KVW_BUCKET"

# shown ARG…: the arguments as a shell would need them quoted.
shown() {
    local a out=()
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
    done
    printf '%s' "${out[*]}"
}

# kvw WANT_EXIT ARGS…: prints and runs `kvw ARGS…`, shows stdout, stderr and
# the exit status, and stops the demo unless the status is WANT_EXIT.
# Leaves stdout in OUT.
kvw() {
    local want=$1 rc=0
    shift
    printf '\n$ kvw %s\n' "$(shown "$@")"
    OUT=$("$KVW" "$@" 2>"$TMP/stderr") || rc=$?
    [[ -z $OUT ]] || printf '%s\n' "$OUT"
    [[ ! -s $TMP/stderr ]] || cat "$TMP/stderr"
    case $rc in
    0) printf '[exit 0]\n' ;;
    3) printf '[exit 3: conflict]\n' ;;
    4) printf '[exit 4: not found]\n' ;;
    *) printf '[exit %d]\n' "$rc" ;;
    esac
    ((rc == want)) || die "expected exit $want, got $rc from: kvw $(shown "$@")"
}

say "put: store a value; prints the new version"
kvw 0 put greeting "hello, world"
kvw 0 get greeting

say "create: only when the key holds no live value"
kvw 0 create color red
v_red=$OUT
kvw 3 create color blue

say "update: compare-and-set against the version create printed"
kvw 0 update color blue --expect "$v_red"
v_blue=$OUT
kvw 3 update color green --expect "$v_red"
kvw 0 get color

say "delete: a DEL marker; the key can be created again"
kvw 0 delete color
kvw 4 get color
kvw 0 create color purple
v_purple=$OUT

say "delete --expect: a logical delete under CAS (an empty-value tombstone)"
kvw 3 delete color --expect "$v_blue"
kvw 0 delete color --expect "$v_purple"
kvw 0 entry color
kvw 4 get color
kvw 3 create color red

say "demo finished: every command behaved as expected"
