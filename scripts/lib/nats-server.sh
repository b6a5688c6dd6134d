# Private nats-servers for the scripts that need one; source this file.
#
#   nats_server_start DIR [nats-server args...]
#       Starts `nats-server -js` on 127.0.0.1 at a free port (-p -1), its
#       store in DIR/store and its log in DIR/log, and waits (up to 10 s) for
#       the ports file it writes into DIR. Sets NATS_SERVER_URL and
#       NATS_SERVER_PID; on failure prints the log to stderr and returns 1.
#   nats_server_stop
#       Stops every server started through this file (SIGTERM, then SIGCONT
#       so a SIGSTOPped one acts on it) and waits for them. Call it from the
#       caller's EXIT trap.
#   nats_request URL SUBJECT PAYLOAD
#       One request over the plain NATS protocol (bash's /dev/tcp; no client
#       needed), e.g. a JetStream API call. Sets NATS_REPLY (the reply's
#       payload, one line); returns 1 when no reply came within 5 s.
#
# The binary: $NATS_SERVER_BIN, else nats-server on PATH, else Debian's path.

NATS_SERVER_PIDS=()

nats_server_start() {
    local dir=$1
    shift
    _nats_start_node "$dir" -p -1 "$@"
}

# _nats_start_node DIR ARGS...: as nats_server_start, the port among ARGS.
_nats_start_node() {
    local dir=$1 bin=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
    shift
    mkdir -p "$dir"
    "$bin" -js -a 127.0.0.1 --ports_file_dir "$dir" -sd "$dir/store" "$@" >>"$dir/log" 2>&1 &
    NATS_SERVER_PID=$!
    NATS_SERVER_PIDS+=("$NATS_SERVER_PID")
    local ports=$dir/nats-server_$NATS_SERVER_PID.ports i
    NATS_SERVER_URL=
    for ((i = 0; i < 200; i++)); do
        # The file may be seen half-written: retry until it holds a URL.
        [[ -s $ports ]] && NATS_SERVER_URL=$(grep -o 'nats://[^"]*' "$ports" | head -n 1) || true
        [[ -n $NATS_SERVER_URL ]] && return 0
        kill -0 "$NATS_SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "nats-server ($bin) did not start; its log:" >&2
    cat "$dir/log" >&2
    return 1
}

nats_server_stop() {
    local pid
    for pid in "${NATS_SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
    done
    for pid in "${NATS_SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    NATS_SERVER_PIDS=()
}

nats_request() {
    local url=$1 subject=$2 payload=$3 hostport line
    hostport=${url#nats://}
    NATS_REPLY=
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || return 1
    printf 'CONNECT {"verbose":false}\r\nSUB _INBOX.kvw_sh 1\r\nPUB %s _INBOX.kvw_sh %d\r\n%s\r\nPING\r\n' \
        "$subject" "${#payload}" "$payload" >&3
    while IFS= read -r -t 5 line <&3; do
        if [[ $line == MSG* ]]; then
            IFS= read -r -t 5 NATS_REPLY <&3
            break
        fi
    done
    exec 3<&-
    NATS_REPLY=${NATS_REPLY%$'\r'}
    [[ -n $NATS_REPLY ]]
}
