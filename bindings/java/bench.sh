#!/usr/bin/env bash
# Throughput: kvw-Java async put vs blocking put vs jnats synchronous KV put
# and jnats JetStream.publishAsync to the KV subjects.
#   bench.sh [nats://HOST:PORT] [--ops N] [--window W] [--size B] [--keys K] [--sync-ops N]
#            [--publish-async-ops N] [--no-jnats] [--rows]
# --rows adds ROW<TAB>java<TAB>phase<TAB>ops<TAB>seconds<TAB>fails lines (see Bench.java).
# Without a URL it starts a private nats-server (JetStream, temporary store).
# Needs a build (run-tests.sh or mvn package).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jar=$(ls "$here"/target/kvw-*.jar | head -n 1)
cp="$jar:$here/target/test-classes:$(cat "$here/target/test-classpath.txt")"
args=("$@")
if [[ ${1:-} != nats://* ]]; then
    tmp=$(mktemp -d)
    nats-server -js -a 127.0.0.1 -p -1 --ports_file_dir "$tmp" -sd "$tmp/store" >"$tmp/log" 2>&1 &
    pid=$!
    # `|| true`: under set -e the killed server's non-zero wait status would end
    # the trap early (temp dir left behind) and replace the bench's exit status.
    trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
    for _ in $(seq 1 200); do [[ -s $tmp/nats-server_$pid.ports ]] && break; sleep 0.05; done
    url=$(grep -o 'nats://[^"]*' "$tmp/nats-server_$pid.ports" | head -n 1)
    args=("$url" "$@")
fi
java -cp "$cp" io.kvw.tools.Bench "${args[@]}"
