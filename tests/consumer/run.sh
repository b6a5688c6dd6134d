#!/usr/bin/env bash
# Consumer tests of the installed package: installs a kvw build into a
# temporary prefix, builds consumer.c against that prefix three ways
# (pkg-config, CMake find_package, dlopen without linking kvw) and runs each
# against a private nats-server, finding libkvw.so.0 the ways the README gives
# (kvw.pc's rpath, LD_LIBRARY_PATH, CMake's install rpath) and failing without.
# Cleans up the prefix and the server on exit.
#
# Usage: run.sh --build-dir DIR --libdir RELDIR --version X.Y.Z
#               [--cc CC] [--cmake CMAKE] [--nats-server PATH]
# Exit status: 0 pass, 1 fail, 77 skipped (no nats-server).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir= libdir= version= cc=${CC:-cc} cmake=cmake nats_server=nats-server
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2 ;;
    --libdir) libdir=$2 ;;
    --version) version=$2 ;;
    --cc) cc=$2 ;;
    --cmake) cmake=$2 ;;
    --nats-server) nats_server=$2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $build_dir && -n $libdir && -n $version ]] || { echo "usage: see the top of $0" >&2; exit 2; }
command -v "$nats_server" >/dev/null || { echo "SKIP: no nats-server"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kvw-consumer.XXXXXX")
source "$here/../../scripts/lib/nats-server.sh"
cleanup() {
  nats_server_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

step() { printf '== %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
# Runs a command quietly; on failure shows its output and stops.
quiet() {
  local log=$work/last.log
  "$@" >"$log" 2>&1 || { cat "$log" >&2; die "$*"; }
}

prefix=$work/prefix
step "install into $prefix"
quiet "$cmake" --install "$build_dir" --prefix "$prefix"
for f in "$libdir/libkvw.so" "$libdir/libkvw.so.${version%%.*}" "$libdir/libkvw.so.$version" \
         include/kvw/kvw.h include/kvw/kvw_uv.h include/kvw/kvw_export.h \
         "$libdir/pkgconfig/kvw.pc" "$libdir/cmake/kvw/kvwConfig.cmake" \
         "$libdir/cmake/kvw/kvwConfigVersion.cmake" "$libdir/cmake/kvw/kvwTargets.cmake"; do
  [[ -e $prefix/$f ]] || die "not installed: $f"
done
if [[ -x $prefix/bin/kvw ]]; then
  step "installed kvw links libkvw only; kvw bench runs libexec/kvw/kvw-bench"
  dyn=$(readelf -d "$prefix/bin/kvw")
  [[ $dyn != *libnats* && $dyn != *libuv* ]] || die "bin/kvw links nats.c or libuv directly"
  help=$("$prefix/bin/kvw" bench --help) || die "kvw bench --help failed"
  [[ $help == "usage: kvw bench"* ]] || die "kvw bench --help printed: ${help:0:200}"
fi

step "start nats-server"
NATS_SERVER_BIN=$(command -v "$nats_server") nats_server_start "$work/server" || die "nats-server did not start"
url=$NATS_SERVER_URL
echo "   $url"

# Runs a consumer and checks it used the installed libkvw.
run_consumer() {
  local name=$1 out
  shift
  out=$("$@" "$url" "$name") || die "$name consumer failed"
  echo "   $out"
  [[ $out == *" using $prefix/"* ]] || die "$name consumer did not use the installed libkvw"
}

step "pkg-config consumer"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[[ $(pkg-config --modversion kvw) == "$version" ]] || die "kvw.pc has version $(pkg-config --modversion kvw)"
[[ $(pkg-config --variable=prefix kvw) == "$prefix" ]] || die "kvw.pc names prefix $(pkg-config --variable=prefix kvw)"
read -ra cflags <<<"$(pkg-config --cflags kvw)"
read -ra libs <<<"$(pkg-config --libs kvw)"
# Outside /usr and /usr/local kvw.pc's Libs carry the rpath: pkg-config alone
# gives a program that runs (the README's command).
[[ " ${libs[*]} " == *" -Wl,-rpath,$prefix/$libdir "* ]] || die "kvw.pc gives no rpath: ${libs[*]}"
quiet "$cc" -std=c99 -Wall -Wextra -pedantic -Werror "${cflags[@]}" "$here/consumer.c" \
  -o "$work/pkgconfig-consumer" "${libs[@]}" -pthread
run_consumer pkgconfig "$work/pkgconfig-consumer"
unset PKG_CONFIG_PATH

step "linked without rpath"
# Fails to start with the loader's message, then runs with LD_LIBRARY_PATH.
quiet "$cc" -std=c99 -Wall -Wextra -pedantic -Werror "${cflags[@]}" "$here/consumer.c" \
  -o "$work/norpath-consumer" -L"$prefix/$libdir" -lkvw -pthread
if out=$(env -u LD_LIBRARY_PATH "$work/norpath-consumer" "$url" norpath 2>&1); then
  die "a consumer without rpath found libkvw: $out"
fi
[[ $out == *"libkvw.so.0: cannot open shared object file"* ]] || die "unexpected failure without rpath: $out"
run_consumer ld-library-path env LD_LIBRARY_PATH="$prefix/$libdir" "$work/norpath-consumer"

step "CMake find_package consumer"
cmake_app() {
  "$cmake" -S "$here/cmake_app" -B "$work/cmake-app" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "$@"
}
quiet cmake_app -DKVW_CONSUMER_WANT_VERSION="${version%.*}"
grep -qx "kvw_DIR:PATH=$prefix/$libdir/cmake/kvw" "$work/cmake-app/CMakeCache.txt" \
  || die "find_package(kvw) found $(grep '^kvw_DIR' "$work/cmake-app/CMakeCache.txt")"
quiet "$cmake" --build "$work/cmake-app"
run_consumer cmake "$work/cmake-app/consumer"
# Installed elsewhere, with the rpath CMake keeps when asked to.
quiet cmake_app -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=ON -DCMAKE_INSTALL_PREFIX="$work/app"
quiet "$cmake" --build "$work/cmake-app"
quiet "$cmake" --install "$work/cmake-app"
run_consumer cmake-installed env -u LD_LIBRARY_PATH "$work/app/bin/consumer"
# SameMajorVersion: the next major version must not be taken for this one.
if cmake_app -DKVW_CONSUMER_WANT_VERSION="$((${version%%.*} + 1)).0" >"$work/last.log" 2>&1; then
  die "find_package(kvw $((${version%%.*} + 1)).0) accepted kvw $version"
fi

step "dlopen consumer (no kvw linked)"
quiet "$cc" -std=c99 -Wall -Wextra -pedantic -Werror -DKVW_CONSUMER_DLOPEN -I"$prefix/include" \
  "$here/consumer.c" -o "$work/dlopen-consumer" -ldl -pthread
if readelf -d "$work/dlopen-consumer" | grep -q 'NEEDED.*libkvw'; then
  die "the dlopen consumer links libkvw"
fi
# Found by soname on the library path, as an FFI would find it.
run_consumer dlopen env LD_LIBRARY_PATH="$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$work/dlopen-consumer"

step "all consumers passed"
