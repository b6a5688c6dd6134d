#!/bin/sh
# Generates the Go package internal/kvw_native: SWIG's wrapper of the shared
# interface (kvw_native.go, kvw_native_wrap.c; the two must share a package
# directory, swig #1734) plus a copy of the C shim (kvw_binding.[ch]), so the
# package depends on nothing outside this module but libkvw (pkg-config kvw)
# and Go's build cache sees every C input.
#
# The generated files are committed: users build the module with cgo and
# pkg-config alone (no swig, no go generate, which Go refuses in dependency
# modules anyway). Run this after changing bindings/kvw.i, bindings/go/kvw_go.i
# or bindings/common/kvw_binding.[ch], and commit the result.
#
#   sh bindings/go/gen.sh           (or: cd bindings/go && go generate ./...)
#   sh bindings/go/gen.sh --check   exit 1 if the committed files differ from
#                                   what this swig generates (run-tests.sh)
#
# Needs swig 4.1.0 (Debian 12's swig; another version writes other bytes).
# Files are only rewritten when they change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bindings=$(dirname "$here")
repo=$(dirname "$bindings")
pkg=$here/internal/kvw_native
command -v swig >/dev/null 2>&1 || { echo "gen.sh: swig not found (Debian: apt-get install swig)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Relative paths keep the generated "source:" comment independent of the checkout.
(cd "$bindings" && swig -go -cgo -intgosize 64 -Werror -I"$repo/include" -Icommon \
    -outdir "$tmp" -o "$tmp/kvw_native_wrap.c" go/kvw_go.i)
cp "$bindings/common/kvw_binding.c" "$bindings/common/kvw_binding.h" "$tmp/"
stale=
for f in kvw_native.go kvw_native_wrap.c kvw_binding.c kvw_binding.h; do
    cmp -s "$tmp/$f" "$pkg/$f" 2>/dev/null && continue
    if [ "${1:-}" = --check ]; then
        stale="$stale $f"
    else
        cp "$tmp/$f" "$pkg/$f"
    fi
done
if [ -n "$stale" ]; then
    echo "gen.sh: internal/kvw_native differs from what $(swig -version | sed -n 's/^SWIG Version //p') generates:$stale" >&2
    echo "gen.sh: run sh bindings/go/gen.sh and commit the result" >&2
    exit 1
fi
