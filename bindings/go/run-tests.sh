#!/usr/bin/env bash
# Builds and tests the Go binding, from the repo root on a fresh Debian 12
# machine (after scripts/test.sh installed its packages):
#   1. libkvw: cmake build in $KVW_BUILD_DIR (default build, reused), installed
#      into $KVW_BUILD_DIR/prefix-go; the binding builds against that install
#      through pkg-config, as a user's would;
#   2. the same binding from the CMake tree (-DKVW_BUILD_GO=ON), in
#      $KVW_BUILD_DIR/go-cmake (skip with KVW_GO_CMAKE=0);
#   3. a private nats-server on a free loopback port, stopped by a trap;
#   4. go vet, go test (plain, -race, cgocheck2), a consumer module outside
#      the tree (consumer/consumer.sh), the README example, the xlang
#      program's exit codes and a short benchmark smoke run.
# Go: $KVW_GO, else `go` on PATH or in /usr/local/go/bin; go >= 1.21 fetches the toolchain
# go.mod asks for from the Go module proxy by itself (GOTOOLCHAIN=auto). If
# there is no Go at all, Debian's golang-go (1.19) is installed and used only
# to download that toolchain (module golang.org/toolchain) from the proxy.
set -euo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
MOD=$ROOT/bindings/go
BUILD=${KVW_BUILD_DIR:-build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
PREFIX=$BUILD/prefix-go
say() { printf '\n== go binding [%ds]: %s\n' "$SECONDS" "$*"; }

# ---------------------------------------------------------------- Go itself
source scripts/lib/go.sh
kvw_go_setup "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$MOD/go.mod")" || exit 1
go version

# ---------------------------------------------------------------- libkvw
say "building libkvw in $BUILD, installing into $PREFIX"
if [[ -f $BUILD/CMakeCache.txt ]]; then
    cmake --build "$BUILD"
else
    cmake -S . -B "$BUILD" -G Ninja && cmake --build "$BUILD"
fi
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
# PKG_CONFIG_PATH only: kvw.pc carries the private prefix's rpath.
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
pkg-config --modversion kvw

# ---------------------------------------------------------------- binding
say "checking the committed SWIG wrapper (gen.sh --check), building"
sh "$MOD/gen.sh" --check
(cd "$MOD" && go build ./... && go vet -unsafeptr=false ./... &&
    go build -o "$MOD/bin/" ./cmd/kvw-xlang ./cmd/kvw-bench ./example)

if [[ ${KVW_GO_CMAKE:-1} != 0 ]]; then
    say "building from the CMake tree (KVW_BUILD_GO=ON) in $BUILD/go-cmake"
    cmake -S . -B "$BUILD/go-cmake" -G Ninja -DKVW_BUILD_GO=ON -DKVW_BUILD_TESTS=OFF \
        -DKVW_BUILD_TOOLS=OFF >/dev/null
    cmake --build "$BUILD/go-cmake" --target kvw_go
    test -x "$BUILD/go-cmake/bindings/go/bin/kvw-xlang"
fi

# ---------------------------------------------------------------- server
SDIR=$(mktemp -d)
source "$ROOT/scripts/lib/nats-cluster.sh"
cleanup() {
    nats_server_stop
    rm -rf "$SDIR"
}
trap cleanup EXIT
nats_server_start "$SDIR"
# A 3-node cluster too, for the tests of a replicated (R3) bucket.
nats_cluster_start "$SDIR/cluster"
export KVW_TEST_CLUSTER_URLS=$NATS_CLUSTER_URLS
URL=$NATS_SERVER_URL
export KVW_TEST_URL=$URL
say "nats-server at $URL"

# ---------------------------------------------------------------- tests
say "go test"
(cd "$MOD" && go test -count=1 -timeout 10m ./...)
say "go test: the cluster scenario with leader kills, checked with porcupine (own cluster)"
(cd "$MOD" && KVW_TEST_LINEARIZABLE=1 go test -count=1 -timeout 5m -run TestClusterLinearizable -v ./kvw |
    grep -E '^(---|FIGURES|\s+cluster_lin)|FIGURES|ok|FAIL')
say "go test -race"
(cd "$MOD" && go test -race -count=1 -timeout 15m ./kvw)
say "go test with GOEXPERIMENT=cgocheck2 (no Go pointer stored in C memory)"
(cd "$MOD" && GOEXPERIMENT=cgocheck2 go test -count=1 -timeout 10m ./kvw)

say "a consumer module outside the tree (committed files only, no swig)"
bash "$MOD/consumer/consumer.sh" "$PREFIX" "$URL"

say "README example"
"$MOD/bin/example" "$URL"

say "xlang program"
x() { bindings/go/xlang.sh --server "$URL" --bucket go_xlang_smoke "$@"; }
expect() {  # expect RC COMMAND...: run it, check its exit status
    local want=$1 rc=0
    shift
    "$@" || rc=$?
    [[ $rc == "$want" ]] || { echo "xlang: '$*' exited $rc, want $want" >&2; exit 1; }
}
v1=$(x put k 00ff00)
[[ $(x get k) == $'00ff00\n'"$v1" ]]
v2=$(x update k "" "$v1")
expect 3 x update k 01 "$v1"
expect 3 x create k 01
expect 4 x get missing
expect 4 x get k # an empty value reads as absent
expect 0 x create fresh 6869
x update k 02 "$v2" >/dev/null

say "benchmark smoke"
"$MOD/bin/kvw-bench" -server "$URL" -n 20000 -window 4096 -natsgo-n 2000

say "all passed"
