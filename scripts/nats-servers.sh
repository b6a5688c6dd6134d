#!/usr/bin/env bash
# The nats-server versions kvw is tested against, built once into a cache
# outside the tree through the Go module proxy (about a minute each).
#
#   scripts/nats-servers.sh            builds what is missing, prints "VERSION PATH" per server
#   scripts/nats-servers.sh --list     the pinned versions, one per line (no build)
#   scripts/nats-servers.sh --path V   the binary of version V (built if missing)
#   scripts/nats-servers.sh --natscli  the official `nats` CLI (pinned; built if missing),
#                                      a reader nobody here wrote
#
# Debian's 2.9.10 (/usr/sbin/nats-server, package nats-server) is the oldest.
# Cache: $KVW_SERVER_CACHE, default ~/.cache/kvw/nats-servers/VERSION/nats-server.
set -euo pipefail

# Newest of each minor line as served on 2026-12-02; bump deliberately.
PINNED=(2.10.27 2.11.17 2.12.15 2.15.2)
DEBIAN=2.9.10
NATSCLI=0.5.0
CACHE=${KVW_SERVER_CACHE:-$HOME/.cache/kvw/nats-servers}
source "$(dirname "${BASH_SOURCE[0]}")/lib/go.sh"

path_of() {  # path_of VERSION: builds when missing, prints the binary's path
    local v=$1
    if [[ $v == "$DEBIAN" ]]; then
        local bin
        bin=$(command -v nats-server || echo /usr/sbin/nats-server)
        [[ -x $bin ]] || { echo "nats-server $v: install Debian's nats-server package" >&2; return 1; }
        echo "$bin"
        return
    fi
    local dir=$CACHE/$v
    if [[ ! -x $dir/nats-server ]]; then
        [[ -n ${GO:-} ]] || kvw_go_setup >&2 || return 1
        mkdir -p "$dir"
        echo "building nats-server $v into $dir" >&2
        # CGO off: a static binary, the same as the project's releases.
        CGO_ENABLED=0 GOBIN=$dir GOFLAGS=-mod=mod \
            "$GO" install "github.com/nats-io/nats-server/v2@v$v" >&2 ||
            { echo "nats-server $v: go install failed" >&2; return 1; }
    fi
    echo "$dir/nats-server"
}

natscli_path() {
    local dir=$CACHE/natscli-$NATSCLI
    if [[ ! -x $dir/nats ]]; then
        [[ -n ${GO:-} ]] || kvw_go_setup >&2 || return 1
        mkdir -p "$dir"
        echo "building natscli $NATSCLI into $dir" >&2
        CGO_ENABLED=0 GOBIN=$dir GOFLAGS=-mod=mod \
            "$GO" install "github.com/nats-io/natscli/nats@v$NATSCLI" >&2 ||
            { echo "natscli $NATSCLI: go install failed" >&2; return 1; }
    fi
    echo "$dir/nats"
}

case ${1:-} in
--natscli) natscli_path ;;
--list) printf '%s\n' "$DEBIAN" "${PINNED[@]}" ;;
--path) path_of "$2" ;;
"")
    for v in "$DEBIAN" "${PINNED[@]}"; do
        printf '%s %s\n' "$v" "$(path_of "$v")"
    done
    ;;
*) echo "usage: $0 [--list | --path VERSION | --natscli]" >&2; exit 2 ;;
esac
