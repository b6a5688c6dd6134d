#!/usr/bin/env bash
# The language rows of BENCHMARKS.md: the same put workload (128-byte values,
# 1,000 keys, file storage) through kvw from C, Go, Java and Ruby, next to
# each language's official client on the same private nats-server in the
# same run: its synchronous KV put and its async JetStream publish to the
# same $KV.<bucket>.<key> subjects (for C: nats.c kvStore_Put and
# js_PublishMsgAsync). Each round runs every language once, in an order that
# rotates, so that all see the same load on a busy machine; the table gives
# medians over the rounds, and ratios as the median of each round's ratio.
# Asserts nothing about speed: exits non-zero only if a run failed.
#
#   scripts/bench-langs.sh [--ops N] [--window W] [--sync-ops S] [--rounds R]
#                          [--langs "c go java ruby"] [--server URL] [--rows FILE]
#
#   --ops N       async puts per language per round [100000]
#   --window W    ops in flight (kvw max_inflight, the publishers' limit) [16384]
#   --sync-ops S  blocking / synchronous puts per language per round [3000]
#   --rounds R    rounds [5]
#   --rows FILE   also keep every raw ROW line in FILE
#
# Needs the bindings built (KVW_TEST_STAGES=bindings scripts/test.sh, or each
# bindings/<lang>/run-tests.sh) and build/tools/kvw (or KVW_BIN).
set -uo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

OPS=100000 WINDOW=16384 SYNC=3000 ROUNDS=5 LANGS="c go java ruby" SERVER= KEEP=
while (($#)); do
    [[ $1 == -h || $1 == --help ]] && { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
    (($# >= 2)) || { echo "bench-langs: $1 needs a value (see --help)" >&2; exit 2; }
    case $1 in
    --ops) OPS=$2 ;;
    --window) WINDOW=$2 ;;
    --sync-ops) SYNC=$2 ;;
    --rounds) ROUNDS=$2 ;;
    --langs) LANGS=$2 ;;
    --server) SERVER=$2 ;;
    --rows) KEEP=$2 ;;
    *) echo "bench-langs: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift 2
done

KVW=${KVW_BIN:-$ROOT/build/tools/kvw}
GO_BENCH=$ROOT/bindings/go/bin/kvw-bench
RUBY_GEMS=$ROOT/build/ruby-gem/home
missing() { echo "bench-langs: $1 is not built: $2" >&2; exit 1; }
for lang in $LANGS; do
    case $lang in
    c) [[ -x $KVW ]] || missing "$KVW" "cmake --build build (scripts/test.sh builds it)" ;;
    go) [[ -x $GO_BENCH ]] || missing "$GO_BENCH" "bindings/go/run-tests.sh" ;;
    java) compgen -G "bindings/java/target/kvw-*.jar" >/dev/null && [[ -f bindings/java/target/test-classpath.txt ]] ||
        missing "the Java jar and test classes" "bindings/java/run-tests.sh" ;;
    ruby) [[ -d $RUBY_GEMS/gems ]] || missing "the Ruby gem" "bindings/ruby/run-tests.sh" ;;
    *) echo "bench-langs: unknown language $lang" >&2; exit 2 ;;
    esac
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvw-bench-langs.XXXXXX")
source scripts/lib/nats-server.sh
cleanup() {
    nats_server_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
if [[ -z $SERVER ]]; then
    nats_server_start "$TMP/server" || exit 1
    SERVER=$NATS_SERVER_URL
fi

ROWS=$TMP/rows
: >"$ROWS"
# C: kvw bench's JSON (kvw and its same-process baselines) as ROW lines.
c_rows() {
    local async blocking
    async=$("$KVW" bench put --server "$SERVER" --ops "$OPS" --window "$WINDOW" --kvstore-ops "$SYNC" \
        --raw-send-asap 0 --json) || return 1
    blocking=$("$KVW" bench put --server "$SERVER" --ops "$SYNC" --window 1 --no-baselines --json) || return 1
    python3 - "$async" "$blocking" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def row(phase, ops, rate, fails=0):
    print(f"c {phase}: {ops} ops = {rate:.0f} ops/s fails={fails}")
    print(f"ROW\tc\t{phase}\t{ops}\t{ops / rate:.6f}\t{fails}")
row("kvw_async_put", a["ops"], a["ops_per_sec"], a["errors"] + a["timeouts"])
row("kvw_blocking_put", b["ops"], b["ops_per_sec"], b["errors"] + b["timeouts"])
row("official_kv_put", a["kvstore_ops"], a["kvstore_ops_per_sec"])
row("official_publish_async", a["raw_async_ops"], a["raw_async_ops_per_sec"])
PY
}
run_lang() {
    case $1 in
    c) c_rows ;;
    go) "$GO_BENCH" -server "$SERVER" -n "$OPS" -window "$WINDOW" -natsgo-n "$SYNC" -blocking-n "$SYNC" \
        -publish-async-n "$OPS" -rows ;;
    java) bindings/java/bench.sh "$SERVER" --ops "$OPS" --window "$WINDOW" --sync-ops "$SYNC" \
        --publish-async-ops "$OPS" --rows ;;
    ruby) GEM_HOME=$RUBY_GEMS GEM_PATH=$RUBY_GEMS: ruby bindings/ruby/bench/put_bench.rb --rows \
        --blocking "$SYNC" "$SERVER" "$OPS" "$WINDOW" ;;
    esac
}

read -ra order <<<"$LANGS"
failed=0
printf 'bench-langs: %s async puts, window %s, %s blocking puts per language, %s round(s), server %s\n' \
    "$OPS" "$WINDOW" "$SYNC" "$ROUNDS" "$SERVER"
for ((r = 1; r <= ROUNDS; r++)); do
    for ((j = 0; j < ${#order[@]}; j++)); do
        lang=${order[$(((j + r - 1) % ${#order[@]}))]}
        printf '\n-- round %d: %s\n' "$r" "$lang"
        if ! run_lang "$lang" >"$TMP/out" 2>&1; then
            failed=$((failed + 1))
            printf 'FAIL: %s exited non-zero\n' "$lang"
        fi
        grep -v '^ROW' "$TMP/out"
        grep '^ROW' "$TMP/out" | sed "s/^/$r\t/" >>"$ROWS"
    done
done
[[ -z $KEEP ]] || cp "$ROWS" "$KEEP"

printf '\n'
python3 - "$ROWS" "$LANGS" <<'PY' || failed=$((failed + 1))
import collections, statistics, sys
rate = collections.defaultdict(dict)  # (lang, phase) -> {round: ops/s}
for line in open(sys.argv[1]):
    rnd, _, lang, phase, ops, secs, fails = line.rstrip("\n").split("\t")
    if int(fails):
        sys.exit(f"bench-langs: {lang} {phase} had {fails} failed ops in round {rnd}")
    rate[lang, phase][rnd] = int(ops) / float(secs)
langs = sys.argv[2].split()
phases = ["kvw_async_put", "kvw_blocking_put", "official_kv_put", "official_publish_async"]
missing = [f"{l} {p}" for l in langs for p in phases
           if not rate.get((l, p)) and not (l == "ruby" and p.startswith("official"))]
if missing:
    sys.exit("bench-langs: no rows for " + ", ".join(missing))

def med(lang, phase):
    r = rate.get((lang, phase))
    return f"{statistics.median(r.values()):,.0f}" if r else "-"
def ratio(a, b):  # median over rounds of a/b, each round's pair measured together
    (la, pa), (lb, pb) = a, b
    ra, rb = rate.get((la, pa), {}), rate.get((lb, pb), {})
    both = sorted(ra[k] / rb[k] for k in ra if k in rb)
    if len(both) < 2:
        return f"{both[0]:.2f}x" if both else "-"
    return f"{statistics.median(both):.2f}x ({both[0]:.2f}-{both[-1]:.2f})"

print("medians, ops/s (official = nats.c kvStore_Put / js_PublishMsgAsync, nats.go KeyValue.Put / "
      "PublishAsync, jnats KeyValue.put / publishAsync; Ruby has none here)")
head = ["lang", "kvw async", "kvw blocking", "official sync put", "official async pub"]
print("{:<6}{:>12}{:>14}{:>19}{:>20}".format(*head))
for l in langs:
    print("{:<6}{:>12}{:>14}{:>19}{:>20}".format(l, *(med(l, p) for p in phases)))
print("\nratios: median of the per-round ratios (range over the rounds)")
head = ["lang", "async / C async", "async / official sync", "async / official async", "blocking / official sync"]
print("{:<6}{:>21}{:>25}{:>25}{:>26}".format(*head))
for l in langs:
    print("{:<6}{:>21}{:>25}{:>25}{:>26}".format(
        l, ratio((l, "kvw_async_put"), ("c", "kvw_async_put")),
        ratio((l, "kvw_async_put"), (l, "official_kv_put")),
        ratio((l, "kvw_async_put"), (l, "official_publish_async")),
        ratio((l, "kvw_blocking_put"), (l, "official_kv_put"))))
PY
((failed == 0)) || { printf 'bench-langs: %d failure(s)\n' "$failed"; exit 1; }
