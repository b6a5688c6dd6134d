#!/usr/bin/env bash
# Cross-language check: what one binding writes, the others read byte for
# byte, and a version one language got is accepted as the expected version by
# another. Drives each binding's xlang.sh (built by its run-tests.sh) against
# one private nats-server.
set -euo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
LANGS=(go java ruby)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvw-cross.XXXXXX")
source scripts/lib/nats-server.sh
cleanup() {
    nats_server_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
nats_server_start "$TMP"
url=$NATS_SERVER_URL

passed=0
failed=0
x() {  # x LANG ARGS... : runs LANG's xlang tool; stdout in OUT, exit status in RC
    RC=0
    OUT=$(bindings/"$1"/xlang.sh --server "$url" --bucket cross "${@:2}") || RC=$?
}
check() {  # check DESCRIPTION CONDITION...
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL: %s (exit %s, output %q)\n' "$what" "$RC" "$OUT"
    fi
}

# Bytes no text layer should touch: NUL, high bytes, CR/LF, a valid UTF-8 é.
VALUE=00ff0d0a41c3a900
n=0
for w in "${LANGS[@]}"; do
    for r in "${LANGS[@]}"; do
        [[ $w == "$r" ]] && continue
        n=$((n + 1))
        key="k$n-$w-$r"
        x "$w" put "$key" "$VALUE"
        check "$w put" test "$RC" = 0
        v1=$OUT
        x "$r" get "$key"
        check "$r reads $w's bytes" test "$RC" = 0 -a "$(sed -n 1p <<<"$OUT")" = "$VALUE"
        check "$r sees $w's version" test "$(sed -n 2p <<<"$OUT")" = "$v1"
        x "$r" update "$key" 01 "$v1"
        check "$r updates with $w's version" test "$RC" = 0
        v2=$OUT
        x "$w" update "$key" 02 "$v1"
        check "$w's stale version conflicts" test "$RC" = 3
        x "$w" get "$key"
        check "$w reads $r's update" test "$(sed -n 1p <<<"$OUT")" = 01 -a "$(sed -n 2p <<<"$OUT")" = "$v2"
        x "$r" create "$key" 03
        check "$r create on $w's live key is refused" test "$RC" = 3
        x "$w" put "$key-empty" ""
        x "$r" get "$key-empty"
        check "$r sees $w's empty value as absent" test "$RC" = 4
    done
done
printf 'cross-language: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
