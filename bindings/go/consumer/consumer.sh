#!/usr/bin/env bash
# The Go binding as a user gets it, from a module outside the tree: only the
# files committed under bindings/go (git archive, read-only like the module
# cache), an installed libkvw found through pkg-config, cgo; no swig, no
# go generate. Runs the README's commands, then main.go against a server.
# Usage: consumer.sh PREFIX NATS_URL   (PREFIX: where libkvw is installed)
set -euo pipefail
prefix=$1 url=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kvw-go-consumer.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

# What `go get` would download: the committed module, made read-only.
mkdir -p "$work/kvw-module"
git -C "$repo" archive HEAD bindings/go | tar -x -C "$work/kvw-module"
mod=$work/kvw-module/bindings/go
chmod -R a-w "$mod"

mkdir "$work/app"
cp "$here/main.go" "$work/app/"
cd "$work/app"
start=$SECONDS
# The README's commands (bindings/go/README.md, "Use it from your module").
go mod init example.com/app >/dev/null 2>&1
go mod edit -replace github.com/kvw/kvw/bindings/go="$mod"
go get github.com/kvw/kvw/bindings/go@v0.0.0
PKG_CONFIG_PATH=$prefix/lib/pkgconfig go build -o app .
echo "go consumer: built in $((SECONDS - start)) s"
env -u LD_LIBRARY_PATH ./app "$url"
