# A Go toolchain for the scripts that build Go code; source this file.
#
#   kvw_go_setup [VERSION]
#       Sets GO to a go >= 1.21 and puts it first on PATH, with
#       GOTOOLCHAIN=auto so that modules needing a newer Go fetch it from the
#       module proxy. Uses $KVW_GO, else `go` on PATH or in /usr/local/go/bin;
#       with none (or an older one) it bootstraps: Debian's golang-go (1.19)
#       downloads toolchain VERSION (default 1.23.4) as a module, kept in
#       ~/.cache/kvw/go-toolchain.

kvw_go_setup() {
    local want=${1:-1.23.4} root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    export PATH=$PATH:/usr/local/go/bin
    export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS=${GOFLAGS:--buildvcs=false}
    [[ -n ${HOME:-} ]] || export HOME=$root/build/go-home # Go keeps its caches under $HOME
    _go_minor() { "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p'; }
    GO=${KVW_GO:-$(command -v go || true)}
    if [[ -z $GO || $(_go_minor "$GO") -lt 21 ]]; then
        if [[ -z $GO ]]; then
            echo "no Go found: installing Debian's golang-go to bootstrap" >&2
            "$root/scripts/install-deps.sh" golang-go ca-certificates || return 1
            GO=$(command -v go)
        fi
        local arch tc dir
        arch=$(dpkg --print-architecture)
        tc=golang.org/toolchain@v0.0.1-go$want.linux-$arch
        echo "fetching Go $want ($tc) from the module proxy with $("$GO" version)" >&2
        dir=$(cd "$(mktemp -d)" && GOMODCACHE=$HOME/.cache/kvw/go-toolchain \
            "$GO" mod download -modcacherw -json "$tc" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
        [[ -n $dir ]] || return 1
        chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*
        GO=$dir/bin/go
    fi
    export PATH=$(dirname "$GO"):$PATH
}
