#!/bin/sh
# Generates the Go, Java and Ruby wrappers from the .i files into a temporary
# directory and compiles each generated C wrapper together with the shim
# (-fsyntax-only: no libkvw needed). Run from anywhere:  sh bindings/check-swig.sh
# Set KEEP=1 to keep the output directory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] && echo "output in $out" || trap 'rm -rf "$out"' EXIT
inc="-I$repo/include -I$here/common"
cflags="-std=c99 -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration -Werror=incompatible-pointer-types -Werror=int-conversion"
java_home=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
rb_hdr=$(ruby -e 'print RbConfig::CONFIG["rubyhdrdir"]')
rb_arch=$(ruby -e 'print RbConfig::CONFIG["rubyarchhdrdir"]')

gcc $cflags -pedantic -Werror $inc -fsyntax-only "$here/common/kvw_binding.c"
echo "shim: ok"

mkdir -p "$out/go" "$out/java/io/kvw/internal" "$out/ruby"
swig -go -cgo -intgosize 64 -Werror $inc -outdir "$out/go" -o "$out/go/kvw_native_wrap.c" "$here/go/kvw_go.i"
gcc $cflags $inc -fsyntax-only -include stddef.h "$out/go/kvw_native_wrap.c"
echo "go: wrapper generated and compiles"

swig -java -package io.kvw.internal -Werror $inc -outdir "$out/java/io/kvw/internal" -o "$out/java/kvw_native_wrap.c" "$here/java/kvw_java.i"
gcc $cflags $inc -I"$java_home/include" -I"$java_home/include/linux" -fsyntax-only "$out/java/kvw_native_wrap.c"
echo "java: wrapper generated and compiles"

swig -ruby -Werror $inc -o "$out/ruby/kvw_native_wrap.c" "$here/ruby/kvw_ruby.i"
gcc $cflags $inc -I"$rb_hdr" -I"$rb_arch" -fsyntax-only "$out/ruby/kvw_native_wrap.c"
echo "ruby: wrapper generated and compiles"
