#!/usr/bin/env bash
# The cross-language test program, from the built jar (run-tests.sh builds it):
#   xlang.sh --server URL --bucket NAME put KEY HEX | update KEY HEX VERSION | get KEY | create KEY HEX
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/libpath.sh"
jar=$(ls "$here"/target/kvw-*.jar 2>/dev/null | grep -v -- -linux- | head -n 1 || true)
if [[ -z $jar || ! -d $here/target/test-classes/io/kvw/tools ]]; then
    echo "xlang.sh: build first (bindings/java/run-tests.sh, or mvn package in bindings/java)" >&2
    exit 2
fi
exec java -XX:TieredStopAtLevel=1 -cp "$jar:$here/target/test-classes" io.kvw.tools.XLang "$@"
