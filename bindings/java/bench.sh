#!/usr/bin/env bash
# Throughput: kvw-Java async put vs blocking put vs jnats synchronous KV put
# and jnats JetStream.publishAsync to the KV subjects.
#   bench.sh [nats://HOST:PORT] [--ops N] [--window W] [--size B] [--keys K] [--sync-ops N]
#            [--publish-async-ops N] [--concurrent T] [--concurrent-ops N]
#            [--no-jnats] [--rows]
# --rows adds ROW<TAB>java<TAB>phase<TAB>ops<TAB>seconds<TAB>fails lines (see Bench.java).
# Without a URL it starts a private nats-server (JetStream, temporary store).
# Needs a build (run-tests.sh or mvn package).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/libpath.sh"
jar=$(ls "$here"/target/kvw-*.jar | grep -v -- -linux- | head -n 1)
cp="$jar:$here/target/test-classes:$(cat "$here/target/test-classpath.txt")"
args=("$@")
if [[ ${1:-} != nats://* ]]; then
    tmp=$(mktemp -d)
    source "$here/../../scripts/lib/nats-server.sh"
    trap 'nats_server_stop; rm -rf "$tmp"' EXIT
    nats_server_start "$tmp"
    args=("$NATS_SERVER_URL" "$@")
fi
java -cp "$cp" io.kvw.tools.Bench "${args[@]}"
