#!/usr/bin/env bash
# The Go side of the cross-language test (cmd/kvw-xlang), as built by
# run-tests.sh into bindings/go/bin:
#   xlang.sh --server URL --bucket NAME put|create KEY HEX | update KEY HEX VERSION | get KEY
set -euo pipefail
bin=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bin/kvw-xlang
if [[ ! -x $bin ]]; then
    echo "xlang.sh: $bin is not built: run bindings/go/run-tests.sh" >&2
    exit 1
fi
exec "$bin" "$@"
