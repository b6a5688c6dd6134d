#!/bin/sh
# run-wrapped.sh PROGRAM [ARGS...]
# Runs PROGRAM under the command in $KVW_TEST_WRAPPER (e.g. "valgrind
# --error-exitcode=99 --leak-check=full ..."); without it the test is
# skipped (exit 77), so a plain `ctest` does not pay for valgrind.
if [ -z "${KVW_TEST_WRAPPER:-}" ]; then
    echo "KVW_TEST_WRAPPER is not set: skipped (see tests/CMakeLists.txt)"
    exit 77
fi
# Word splitting of the wrapper command is intended.
# shellcheck disable=SC2086
exec $KVW_TEST_WRAPPER "$@"
