#!/usr/bin/env bash
# The language rows of BENCHMARKS.md: the same put workload (128-byte values,
# 1,000 keys, file storage) through kvw from C, Go, Java and Ruby, next to
# each language's official client on the same private nats-server in the
# same run: its synchronous KV put and its async JetStream publish to the
# same $KV.<bucket>.<key> subjects (for C: nats.c kvStore_Put and
# js_PublishMsgAsync), and both clients' blocking puts from many threads /
# goroutines at once (Ruby: none). Each round runs every language once, in an
# order that rotates, so that all see the same load on a busy machine; the
# table gives medians over the rounds, and ratios as the median of each
# round's ratio.
# Asserts nothing about speed: exits non-zero only if a run failed.
#
#   scripts/bench-langs.sh [--ops N] [--window W] [--sync-ops S] [--rounds R]
#                          [--concurrent T] [--concurrent-ops N]
#                          [--langs "c go java ruby"] [--server URL] [--rows FILE]
#
#   --ops N       async puts per language per round [100000]
#   --window W    ops in flight (kvw max_inflight, the publishers' limit) [16384]
#   --sync-ops S  blocking / synchronous puts per language per round [3000]
#   --rounds R    rounds [5]
#   --concurrent T  threads / goroutines making blocking puts at once, kvw and
#                 the official sync put (C: kvStore_Put); 0 skips [64]
#   --concurrent-ops N  puts per concurrent phase [20000]
#   --rows FILE   also keep every raw ROW line in FILE
#
# Needs the bindings built (KVW_TEST_STAGES=bindings scripts/test.sh, or each
# bindings/<lang>/run-tests.sh) and build/tools/kvw (or KVW_BIN).
set -uo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

OPS=100000 WINDOW=16384 SYNC=3000 ROUNDS=5 CONC=64 CONC_OPS=20000 LANGS="c go java ruby" SERVER= KEEP=
while (($#)); do
    [[ $1 == -h || $1 == --help ]] && { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
    (($# >= 2)) || { echo "bench-langs: $1 needs a value (see --help)" >&2; exit 2; }
    case $1 in
    --ops) OPS=$2 ;;
    --window) WINDOW=$2 ;;
    --sync-ops) SYNC=$2 ;;
    --rounds) ROUNDS=$2 ;;
    --concurrent) CONC=$2 ;;
    --concurrent-ops) CONC_OPS=$2 ;;
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
# C: kvw bench's JSON (kvw and its same-process baselines) as ROW lines. The
# blocking rows come with their kvStore_Put loop (same threads) from the same
# process, run alternately (--rounds 2).
c_rows() {
    local async blocking concurrent=null
    async=$("$KVW" bench put --server "$SERVER" --ops "$OPS" --window "$WINDOW" --kvstore-ops 1 \
        --raw-send-asap 0 --json) || return 1
    blocking=$("$KVW" bench put --server "$SERVER" --blocking --ops "$SYNC" --raw-ops "$SYNC" \
        --kvstore-ops "$SYNC" --raw-send-asap 1 --rounds 2 --json) || return 1
    if ((CONC > 0)); then
        concurrent=$("$KVW" bench put --server "$SERVER" --blocking --threads "$CONC" --ops "$CONC_OPS" \
            --raw-ops "$CONC_OPS" --kvstore-ops "$CONC_OPS" --raw-send-asap 1 --rounds 2 --json) || return 1
    fi
    python3 - "$async" "$blocking" "$concurrent" <<'PY'
import json, sys
a, b, c = (json.loads(x) for x in sys.argv[1:4])
def row(phase, ops, rate, fails=0):
    print(f"c {phase}: {ops} ops = {rate:.0f} ops/s fails={fails}")
    print(f"ROW\tc\t{phase}\t{ops}\t{ops / rate:.6f}\t{fails}")
row("kvw_async_put", a["ops"], a["ops_per_sec"], a["errors"] + a["timeouts"])
row("official_publish_async", a["raw_async_ops"], a["raw_async_ops_per_sec"])
row("kvw_blocking_put", b["ops"], b["ops_per_sec"], b["errors"] + b["timeouts"])
row("official_kv_put", b["kvstore_ops"], b["kvstore_ops_per_sec"])
print(f"c blocking p50: kvw {b['p50_us']} us, raw round trip {b['raw_async_p50_us']} us, kvStore_Put "
      f"{b['kvstore_p50_us']} us; context switches per op: kvw {b['switches_per_op']}, raw "
      f"{b['raw_async_switches_per_op']}")
if c:
    row("kvw_concurrent_put", c["ops"], c["ops_per_sec"], c["errors"] + c["timeouts"])
    row("official_concurrent_put", c["kvstore_ops"], c["kvstore_ops_per_sec"])
PY
}
run_lang() {
    case $1 in
    c) c_rows ;;
    go) "$GO_BENCH" -server "$SERVER" -n "$OPS" -window "$WINDOW" -natsgo-n "$SYNC" -blocking-n "$SYNC" \
        -publish-async-n "$OPS" -concurrent "$CONC" -concurrent-n "$CONC_OPS" -rows ;;
    java) bindings/java/bench.sh "$SERVER" --ops "$OPS" --window "$WINDOW" --sync-ops "$SYNC" \
        --publish-async-ops "$OPS" --concurrent "$CONC" --concurrent-ops "$CONC_OPS" --rows ;;
    ruby) GEM_HOME=$RUBY_GEMS GEM_PATH=$RUBY_GEMS: ruby bindings/ruby/bench/put_bench.rb --rows \
        --blocking "$SYNC" "$SERVER" "$OPS" "$WINDOW" ;;
    esac
}

read -ra order <<<"$LANGS"
failed=0
printf 'bench-langs: %s async puts, window %s, %s blocking puts, %s x %s concurrent ones per language, %s round(s), server %s\n' \
    "$OPS" "$WINDOW" "$SYNC" "$CONC" "$CONC_OPS" "$ROUNDS" "$SERVER"
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
python3 - "$ROWS" "$LANGS" "$CONC" <<'PY' || failed=$((failed + 1))
import collections, statistics, sys
rate = collections.defaultdict(dict)  # (lang, phase) -> {round: ops/s}
for line in open(sys.argv[1]):
    rnd, _, lang, phase, ops, secs, fails = line.rstrip("\n").split("\t")
    if int(fails):
        sys.exit(f"bench-langs: {lang} {phase} had {fails} failed ops in round {rnd}")
    rate[lang, phase][rnd] = int(ops) / float(secs)
langs = sys.argv[2].split()
phases = ["kvw_async_put", "kvw_blocking_put", "official_kv_put", "official_publish_async"]
conc = ["kvw_concurrent_put", "official_concurrent_put"] if int(sys.argv[3]) > 0 else []
def needed(lang, phase):  # Ruby has no official client here, and no concurrent rows
    return lang != "ruby" or phase in ("kvw_async_put", "kvw_blocking_put")
missing = [f"{l} {p}" for l in langs for p in phases + conc if needed(l, p) and not rate.get((l, p))]
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
print("{:<6}{:>12}{:>14}{:>19}{:>20}{:>16}{:>21}".format(*head, "kvw concurrent", "official concurrent"))
for l in langs:
    print("{:<6}{:>12}{:>14}{:>19}{:>20}{:>16}{:>21}".format(
        l, *(med(l, p) for p in phases + ["kvw_concurrent_put", "official_concurrent_put"])))
print("\nratios: median of the per-round ratios (range over the rounds)")
head = ["lang", "async / C async", "async / official sync", "async / official async", "blocking / official sync",
        "blocking / C blocking", "concurrent / official"]
print("{:<6}{:>21}{:>25}{:>25}{:>26}{:>23}{:>23}".format(*head))
for l in langs:
    print("{:<6}{:>21}{:>25}{:>25}{:>26}{:>23}{:>23}".format(
        l, ratio((l, "kvw_async_put"), ("c", "kvw_async_put")),
        ratio((l, "kvw_async_put"), (l, "official_kv_put")),
        ratio((l, "kvw_async_put"), (l, "official_publish_async")),
        ratio((l, "kvw_blocking_put"), (l, "official_kv_put")),
        ratio((l, "kvw_blocking_put"), ("c", "kvw_blocking_put")),
        ratio((l, "kvw_concurrent_put"), (l, "official_concurrent_put"))))
PY
((failed == 0)) || { printf 'bench-langs: %d failure(s)\n' "$failed"; exit 1; }
