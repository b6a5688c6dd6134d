#!/usr/bin/env bash
# The Java binding end to end, from the repository root on a fresh Debian 12:
#   1. libkvw: build (build/, reused) and install into build/prefix-java;
#   2. the binding from the top-level CMake tree (-DKVW_BUILD_JAVA=ON): the
#      native module compiles and links against the in-tree libkvw;
#   3. `mvn install` (the ecosystem's way): CMake/SWIG, javac, the JUnit 5
#      suite against a private nats-server (Surefire), the jar (no RUNPATH),
#      and the self-contained one, then a consumer project outside the tree
#      against each;
#   4. the README example, from the jar, and a cross-language CLI smoke run;
#   5. a short benchmark smoke run.
# Exits non-zero on any failure. Usage: bindings/java/run-tests.sh
set -euo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
HERE=$ROOT/bindings/java
step() { printf '\n---- java: %s\n' "$*"; }

step "dependencies (JDK 17, Maven)"
scripts/install-deps.sh openjdk-17-jdk-headless maven
java -version 2>&1 | head -n 1 || true
mvn -v 2>&1 | head -n 1 || true

step "libkvw -> build/prefix-java"
cmake -S . -B build -G Ninja >/dev/null
cmake --build build
cmake --install build --prefix build/prefix-java >/dev/null

step "in-tree CMake build (KVW_BUILD_JAVA=ON)"
cmake -S . -B build/java-tree -G Ninja -DKVW_BUILD_JAVA=ON -DKVW_BUILD_TESTS=OFF \
    -DKVW_BUILD_TOOLS=OFF >/dev/null
cmake --build build/java-tree --target kvw_native
test -f build/java-tree/bindings/java/native/libkvw_native.so
test -f build/java-tree/bindings/java/generated-sources/swig/io/kvw/internal/kvw_native.java

tmp=$(mktemp -d)
source "$ROOT/scripts/lib/nats-cluster.sh"
cleanup() {
    nats_server_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
nats_server_start "$tmp"
# A 3-node cluster too, for the tests of a replicated (R3) bucket.
nats_cluster_start "$tmp/cluster"
export KVW_TEST_CLUSTER_URLS=$NATS_CLUSTER_URLS
url=$NATS_SERVER_URL
echo "nats-server at $url"

step "mvn install (CMake + SWIG, javac, JUnit 5 suite, jar, into ~/.m2)"
# ClusterFaultTest starts its own cluster and kills nodes; here it runs.
export KVW_TEST_CLUSTER_FAULTS=1
(cd "$HERE" && mvn -B -ntp install -Dkvw.prefix="$ROOT/build/prefix-java" -Dkvw.test.server="$url")
jar=$(ls "$HERE"/target/kvw-*.jar | grep -v -- -linux- | head -n 1)
# Listed into a variable first: `grep -q` quitting early would SIGPIPE the
# lister, which pipefail turns into a failure.
listing=$(jar tf "$jar")
grep -q 'native/linux-x86_64/libkvw_native.so' <<<"$listing"
# The module must not name the build machine's prefix (issue 11).
(cd "$tmp" && jar xf "$jar" native/linux-x86_64/libkvw_native.so)
if readelf -d "$tmp/native/linux-x86_64/libkvw_native.so" | grep -E 'RUNPATH|RPATH'; then
    echo "the jar's native module has a RUNPATH" >&2
    exit 1
fi

step "consumer projects outside the tree (io.kvw:kvw from ~/.m2, both jars)"
for variant in plain linux-x86_64; do
    consumer=$tmp/consumer-$variant
    cp -r "$HERE/consumer" "$consumer"
    classifier=$variant
    [[ $variant == plain ]] && classifier=
    start=$SECONDS
    (cd "$consumer" && mvn -B -ntp -q package dependency:build-classpath \
        -Dkvw.classifier="$classifier" -Dmdep.outputFile=cp.txt)
    echo "consumer ($variant) built in $((SECONDS - start)) s"
    ccp="$consumer/target/classes:$(cat "$consumer/cp.txt")"
    if [[ $variant == plain ]]; then
        # Without libkvw on the library path: a clear error, not the loader's alone.
        if out=$(env -u LD_LIBRARY_PATH java -cp "$ccp" Consumer "$url" "consumer_$variant" 2>&1); then
            echo "the consumer ran without libkvw on the library path" >&2
            exit 1
        fi
        grep -q 'kvw: libkvw.so.0 not found: install libkvw' <<<"$out" || { echo "$out" >&2; exit 1; }
        LD_LIBRARY_PATH=$ROOT/build/prefix-java/lib java -cp "$ccp" Consumer "$url" "consumer_$variant"
    else
        # Self-contained: no libkvw anywhere on the library path, and its
        # module does not ask for one.
        (cd "$tmp" && rm -rf native && jar xf "$(tr ':' '\n' <"$consumer/cp.txt" | grep -m1 linux-x86_64)" \
            native/linux-x86_64/libkvw_native.so)
        if readelf -d "$tmp/native/linux-x86_64/libkvw_native.so" | grep -E 'libkvw|RUNPATH|RPATH'; then
            echo "the self-contained module needs libkvw or has a RUNPATH" >&2
            exit 1
        fi
        env -u LD_LIBRARY_PATH java -cp "$ccp" Consumer "$url" "consumer_$variant"
    fi
done

step "README example (java -cp kvw.jar examples/Example.java)"
# Its own temp directory: the module extracted from the jar must not be left there.
mkdir "$tmp/jtmp"
(cd "$HERE" && LD_LIBRARY_PATH=$ROOT/build/prefix-java/lib \
    java -Djava.io.tmpdir="$tmp/jtmp" -cp "$jar" examples/Example.java "$url") | tee "$tmp/example.out"
[[ -z $(ls -A "$tmp/jtmp") ]] || { echo "the extracted native library was left behind:" >&2; ls -lR "$tmp/jtmp" >&2; exit 1; }
grep -q 'conflict as expected: KVW_ECONFLICT' "$tmp/example.out"
grep -q 'greeting = hello, world' "$tmp/example.out"
grep -q 'same version as the update: true' "$tmp/example.out"

step "cross-language CLI (xlang.sh)"
x() { "$HERE/xlang.sh" --server "$url" --bucket xlang_java "$@"; }
v1=$(x put k 00ff10)
[[ $(x get k) == $'00ff10\n'"$v1" ]]
v2=$(x update k 41 "$v1")
rc=0; x update k 42 "$v1" 2>/dev/null || rc=$?
[[ $rc == 3 ]] || { echo "stale update: exit $rc, want 3" >&2; exit 1; }
rc=0; x create k 43 2>/dev/null || rc=$?
[[ $rc == 3 ]] || { echo "create over a live key: exit $rc, want 3" >&2; exit 1; }
rc=0; x get never 2>/dev/null || rc=$?
[[ $rc == 4 ]] || { echo "get of a missing key: exit $rc, want 4" >&2; exit 1; }
x create fresh "" >/dev/null
[[ $(x get k) == $'41\n'"$v2" ]]
echo "xlang: put/get/update/create and exit codes 3/4 ok"

step "benchmark smoke run"
"$HERE/bench.sh" "$url" --ops 20000 --window 4096 --sync-ops 1000

echo
echo "java binding: all steps passed"
