#!/usr/bin/env bash
# Ruby binding: builds libkvw and installs it into a private prefix, builds the
# binding both ways (gem build + gem install --local into build/ruby-gem, and
# the CMake tree build-ruby with -DKVW_BUILD_RUBY=ON), starts a private
# nats-server, runs the minitest suites against the installed gem (and the
# fast ones against the CMake module), the README example with both, an
# xlang.sh smoke run and a short benchmark. Exits non-zero on any failure.
#   bindings/ruby/run-tests.sh          (from anywhere; CI calls it from the repo root)
set -euo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
HERE=$ROOT/bindings/ruby
step() { printf '\n---- ruby: %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh build-essential cmake ninja-build pkg-config libnats-dev nats-server \
    libuv1-dev swig ruby ruby-dev
# Ruby 3.1 bundles minitest; a Ruby without it gets Debian's package.
ruby -e 'require "minitest"' 2>/dev/null || scripts/install-deps.sh ruby-minitest

step "libkvw into build/prefix-ruby"
cmake -S . -B build -G Ninja >/dev/null
cmake --build build
PREFIX=$ROOT/build/prefix-ruby
rm -rf "$PREFIX"
cmake --install build --prefix "$PREFIX" >/dev/null
pc=$(find "$PREFIX" -name kvw.pc -print -quit)
[[ -n $pc ]] || { echo "kvw.pc not installed under $PREFIX" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

step "gem build (runs swig) + gem install --local"
GEMDIR=$ROOT/build/ruby-gem
rm -rf "$GEMDIR"
mkdir -p "$GEMDIR"
(cd "$HERE" && gem build kvw.gemspec --output "$GEMDIR/kvw.gem")
gem install --local --no-document --install-dir "$GEMDIR/home" "$GEMDIR/kvw.gem"

step "CMake build (build-ruby, -DKVW_BUILD_RUBY=ON)"
cmake -S . -B build-ruby -G Ninja -DKVW_BUILD_RUBY=ON -DKVW_BUILD_TESTS=OFF -DKVW_BUILD_TOOLS=OFF >/dev/null
cmake --build build-ruby --target kvw_ruby
CMAKE_RUBYLIB=$ROOT/build-ruby/bindings/ruby/lib

step "private nats-server"
TMP=$(mktemp -d /tmp/kvw-ruby-tests.XXXXXX)
source scripts/lib/nats-cluster.sh
cleanup() {
    nats_server_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
nats_server_start "$TMP"
# A 3-node cluster too, for the tests of a replicated (R3) bucket.
nats_cluster_start "$TMP/cluster"
export KVW_TEST_CLUSTER_URLS=$NATS_CLUSTER_URLS
# test_cluster_faults.rb starts its own cluster and kills nodes; here it runs.
export KVW_TEST_CLUSTER_FAULTS=1
URL=$NATS_SERVER_URL
echo "nats-server $NATS_SERVER_PID at $URL"
export KVW_TEST_SERVER=$URL

gem_ruby() { GEM_HOME=$GEMDIR/home GEM_PATH=$GEMDIR/home: ruby "$@"; }
cmake_ruby() { env -u GEM_HOME -u GEM_PATH ruby -I "$HERE/lib" -I "$CMAKE_RUBYLIB" "$@"; }

step "minitest suites against the installed gem"
gem_ruby -e 'require "kvw"; puts "kvw #{Kvw::VERSION} (libkvw #{Kvw.library_version}) from " +
             $LOADED_FEATURES.grep(/kvw_native/).first'
gem_ruby "$HERE/test/all.rb"

step "conformance + version suites against the CMake module"
cmake_ruby -e 'require "kvw"; puts "kvw from " + $LOADED_FEATURES.grep(/kvw_native/).first'
cmake_ruby -e 'ARGV.each { |f| require f }' "$HERE/test/test_conformance.rb" "$HERE/test/test_version.rb"

step "a consumer outside the tree: gem install ./kvw.gem into a clean GEM_HOME, then a script"
# As the README says: the gem file alone, kvw.pc found through PKG_CONFIG_PATH
# (its rpath then lets the extension find libkvw.so.0 with no LD_LIBRARY_PATH),
# and no swig (SWIG names nothing: the gem's own wrapper must be used).
CONSUMER=$TMP/consumer
mkdir -p "$CONSUMER"
cp "$GEMDIR/kvw.gem" "$HERE/consumer/consumer.rb" "$CONSUMER/"
(cd "$CONSUMER" && start=$SECONDS &&
    env -u LD_LIBRARY_PATH GEM_HOME="$CONSUMER/gems" GEM_PATH="$CONSUMER/gems" SWIG=/nonexistent/swig \
        gem install --local --no-document ./kvw.gem &&
    echo "gem install took $((SECONDS - start)) s" &&
    env -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH GEM_HOME="$CONSUMER/gems" GEM_PATH="$CONSUMER/gems" \
        ruby consumer.rb "$URL")

step "README example (gem, then CMake module)"
gem_ruby "$HERE/examples/example.rb" "$URL"
cmake_ruby "$HERE/examples/example.rb" "$URL"

step "xlang.sh smoke"
x() { "$HERE/xlang.sh" --server "$URL" --bucket xlang_ruby "$@"; }
expect_exit() {  # expect_exit CODE CMD...
    local want=$1 rc=0
    shift
    "$@" >/dev/null 2>&1 || rc=$?
    [[ $rc == "$want" ]] || { echo "expected exit $want, got $rc: $*" >&2; exit 1; }
}
v1=$(x put k 00ff0a)
[[ $(x get k) == $'00ff0a\n'"$v1" ]] || { echo "xlang get mismatch" >&2; exit 1; }
v2=$(x update k 01 "$v1")
expect_exit 3 x update k 02 "$v1"
expect_exit 3 x create k 03
expect_exit 4 x get missing
v3=$(x create fresh "")
expect_exit 4 x get fresh
echo "xlang ok: versions $v1 $v2 $v3"

step "benchmark smoke (20000 async puts)"
gem_ruby "$HERE/bench/put_bench.rb" "$URL" 20000 4096

printf '\nruby binding: all passed\n'
