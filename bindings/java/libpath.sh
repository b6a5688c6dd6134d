# Sourced by xlang.sh and bench.sh: the jar's native module has no RUNPATH, so
# point the loader at the libkvw run-tests.sh installed (build/prefix-java),
# unless KVW_PREFIX names another prefix or libkvw is on the system path.
kvw_java_libpath() {
    local prefix=${KVW_PREFIX:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/prefix-java}
    if [[ -e $prefix/lib/libkvw.so.0 ]]; then
        export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    fi
}
kvw_java_libpath
