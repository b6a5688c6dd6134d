#!/usr/bin/env bash
# libkvw.so has the expected SONAME and exports exactly the functions of the
# ABI baseline (tests/abi/baseline.h), all of them kvw_* functions.
# Usage: check_exports.sh LIBRARY EXPECTED_SONAME EXPORTS_PROGRAM
# NM and READELF may name the tools to use.
set -euo pipefail

lib=$1 want_soname=$2 exports_program=$3
nm=${NM:-nm} readelf=${READELF:-readelf}
failed=0
fail() { printf '%s\n' "$@" >&2; failed=1; }

soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "$want_soname" ]] || fail "SONAME is '${soname:-none}', expected '$want_soname'"

# Lines look like "000000000001a2b0 T kvw_put@@KVW_0"; the version node
# itself is listed as an absolute symbol ("A KVW_0") and is not an export.
exports=$("$nm" -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $2, $3 }' | sort -k2)
[[ -n $exports ]] || fail "$lib exports nothing"

not_kvw=$(awk '$2 !~ /^kvw_/' <<<"$exports")
[[ -z $not_kvw ]] || fail "exported symbols outside kvw_*:" "$not_kvw"
not_functions=$(awk '$1 != "T"' <<<"$exports")
[[ -z $not_functions ]] || fail "exported symbols that are not plain functions:" "$not_functions"

names=$(awk '{ print $2 }' <<<"$exports" | sort -u)
baseline=$("$exports_program" --list | sort -u)
extra=$(comm -23 <(printf '%s\n' "$names") <(printf '%s\n' "$baseline"))
missing=$(comm -13 <(printf '%s\n' "$names") <(printf '%s\n' "$baseline"))
[[ -z $extra ]] || fail "exported but not in tests/abi/baseline.h (new API? add it there):" "$extra"
[[ -z $missing ]] || fail "in tests/abi/baseline.h but not exported:" "$missing"

if ((failed)); then exit 1; fi
echo "$lib: SONAME $soname, $(wc -l <<<"$names") kvw_* functions, as in the baseline"
