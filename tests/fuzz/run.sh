#!/usr/bin/env bash
# Builds kvw's libFuzzer targets with clang straight from the lib/ sources
# (-fsanitize=fuzzer,address,undefined; no CMake involved) and runs each one
# for a bounded time, starting from its committed corpus. Exits non-zero if a
# target crashed, leaked or broke one of its checks (the input that did it is
# saved as <build>/artifacts/<target>-crash-*).
#
#   tests/fuzz/run.sh                   every target, 20 s each
#   tests/fuzz/run.sh 300 fuzz_record   one target, 5 minutes
#   tests/fuzz/run.sh --merge           fold new coverage into tests/fuzz/corpus/
#                                        (after a run; keep the corpus small)
#   tests/fuzz/run.sh --build           build only
#
# Build directory: $KVW_FUZZ_BUILD, default build-fuzz/ at the top of the tree.
# Compiler: $KVW_FUZZ_CXX, default clang++ (Debian: packages clang and
# libclang-rt-14-dev, which holds libFuzzer).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
FUZZ=$ROOT/tests/fuzz
OUT=${KVW_FUZZ_BUILD:-$ROOT/build-fuzz}
CXX=${KVW_FUZZ_CXX:-clang++}
ALL_TARGETS=(fuzz_keys fuzz_version fuzz_record fuzz_ttl fuzz_floors fuzz_msg_get fuzz_server_text)

mode=run
case ${1:-} in
--merge) mode=merge; shift ;;
--build) mode=build; shift ;;
esac
seconds=${1:-20}
[[ $# -gt 0 ]] && shift
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (install clang libclang-rt-14-dev)" >&2; exit 1; }

SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
CXXFLAGS=(-std=c++17 -g -O1 "${SAN[@]}" -I"$ROOT/include" -I"$ROOT/lib" $(pkg-config --cflags libnats libuv))
LIBS=($(pkg-config --libs libnats libuv) -pthread)

build() {
    mkdir -p "$OUT/obj"
    # The library objects: rebuilt when anything under lib/ or include/ changed.
    local stamp=$OUT/obj/.stamp
    if [[ ! -e $stamp ]] || [[ -n $(find "$ROOT/lib" "$ROOT/include" -newer "$stamp" -type f | head -1) ]]; then
        echo "fuzz: compiling lib/*.cpp with $CXX -fsanitize=fuzzer-no-link,address,undefined"
        rm -f "$OUT"/obj/*.o
        for src in "$ROOT"/lib/*.cpp; do
            "$CXX" "${CXXFLAGS[@]}" -fsanitize=fuzzer-no-link -DKVW_BUILDING_LIBRARY \
                -c "$src" -o "$OUT/obj/$(basename "${src%.cpp}").o"
        done
        touch "$stamp"
    fi
    for t in "${targets[@]}"; do
        if [[ ! -x $OUT/$t || $FUZZ/$t.cpp -nt $OUT/$t || $stamp -nt $OUT/$t ]]; then
            echo "fuzz: linking $t"
            "$CXX" "${CXXFLAGS[@]}" -fsanitize=fuzzer "$FUZZ/$t.cpp" "$OUT"/obj/*.o "${LIBS[@]}" -o "$OUT/$t"
        fi
    done
}

max_len() {
    case $1 in
    fuzz_keys) echo 2048 ;;
    fuzz_version) echo 128 ;;
    fuzz_ttl) echo 256 ;;
    *) echo 4096 ;;
    esac
}

run() {  # run TARGET: fuzz for $seconds; new inputs go to $OUT/corpus/TARGET
    local t=$1 work=$OUT/corpus/$1 log=$OUT/$1.log
    mkdir -p "$work" "$OUT/artifacts" "$FUZZ/corpus/$t"
    local rc=0
    # First directory: where new inputs are written; the committed corpus is only read.
    "$OUT/$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" \
        "$work" "$FUZZ/corpus/$t" >"$log" 2>&1 || rc=$?
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
    printf 'fuzz: %-13s %s executions in %ss, coverage %s edges, corpus %s inputs: %s\n' "$t" \
        "${execs:-?}" "$seconds" "${cov:-?}" "$(ls "$work" "$FUZZ/corpus/$t" | grep -vc ':$')" \
        "$( ((rc == 0)) && echo ok || echo "FAILED (exit $rc)")"
    if ((rc != 0)); then
        grep -E 'ERROR|runtime error|check failed|disagrees|want|SUMMARY' "$log" | head -20 >&2 || true
        echo "fuzz: full log: $log" >&2
    fi
    return $rc
}

merge() {  # fold what a run found into the committed corpus (minimised)
    local t=$1
    "$OUT/$t" -merge=1 -max_len="$(max_len "$t")" "$FUZZ/corpus/$t" "$OUT/corpus/$t" >"$OUT/$t.merge.log" 2>&1
    echo "fuzz: $t corpus: $(ls "$FUZZ/corpus/$t" | wc -l) inputs"
}

build
[[ $mode == build ]] && exit 0
failed=0
for t in "${targets[@]}"; do
    if [[ $mode == merge ]]; then merge "$t"; else run "$t" || failed=1; fi
done
exit $failed
