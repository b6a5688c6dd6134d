# A private 3-node nats-server cluster for the scripts that need one; source
# this file (it sources nats-server.sh, whose nats_server_stop stops the
# nodes too).
#
#   nats_cluster_start DIR [nats-server args...]
#       Starts nodes n1..n3 (-js, loopback, free client and route ports,
#       routes to each other, one cluster name), each with its store and log
#       under DIR/nK, and waits (up to 30 s) until the cluster can place a
#       stream with three replicas (it creates and deletes a probe stream).
#       Sets NATS_CLUSTER_URLS (the three client URLs, comma-separated),
#       NATS_CLUSTER_URL and NATS_CLUSTER_PID (arrays, index 0..2). On
#       failure prints the nodes' logs and returns 1.
#   nats_cluster_launch DIR [nats-server args...]
#       The same without waiting for the cluster to be ready (as a client
#       meets a cluster formed a moment ago).
#   nats_cluster_node_stop I / nats_cluster_node_start I
#       Stops node I (SIGTERM) / starts it again on its ports and store.
#   nats_cluster_stream_leader STREAM
#       Prints the server_name of STREAM's leader ("n2"), asking any node.
#
# The binary: $NATS_SERVER_BIN, else nats-server on PATH (as nats-server.sh).

source "$(dirname "${BASH_SOURCE[0]}")/nats-server.sh"

NATS_CLUSTER_NODES=3

_nats_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

nats_cluster_start() {
    local dir=$1 attempt
    # A route port is picked free and bound by its node a moment later, and
    # another process can take it in between (seen in CI: "Error listening
    # on router port ... address already in use", the cluster never formed):
    # start over on new ports, up to three times.
    for attempt in 1 2 3; do
        if nats_cluster_launch "$@" && _nats_cluster_ready; then
            return 0
        fi
        ((attempt < 3)) || break
        echo "nats_cluster_start: the cluster did not form (attempt $attempt of 3); new ports" >&2
        _nats_cluster_kill
        rm -rf "$dir"/n[0-9]*
    done
    _nats_cluster_logs
    return 1
}

# Ready when an R3 stream can be placed: the meta leader is elected and
# every peer is known. Gives up at once when a node died.
_nats_cluster_ready() {
    local deadline=$((SECONDS + 30)) i probe='{"name":"KVW_CLUSTER_PROBE","subjects":["kvw.cluster.probe"],"num_replicas":3,"storage":"memory"}'
    while ((SECONDS < deadline)); do
        for ((i = 0; i < NATS_CLUSTER_NODES; i++)); do
            kill -0 "${NATS_CLUSTER_PID[i]}" 2>/dev/null || { echo "nats-server node n$((i + 1)) exited" >&2; return 1; }
        done
        if nats_request "${NATS_CLUSTER_URL[0]}" '$JS.API.STREAM.CREATE.KVW_CLUSTER_PROBE' "$probe" &&
            [[ $NATS_REPLY != *'"error"'* ]]; then
            nats_request "${NATS_CLUSTER_URL[0]}" '$JS.API.STREAM.DELETE.KVW_CLUSTER_PROBE' '' || true
            return 0
        fi
        sleep 0.25
    done
    echo "the nats-server cluster did not accept an R3 stream within 30 s (last reply: $NATS_REPLY)" >&2
    return 1
}

_nats_cluster_kill() {
    local i
    for ((i = 0; i < ${#NATS_CLUSTER_PID[@]}; i++)); do
        nats_cluster_node_stop "$i"
    done
}

nats_cluster_launch() {
    local dir=$1 i
    shift
    NATS_CLUSTER_DIR=$dir
    NATS_CLUSTER_ARGS=("$@")
    NATS_CLUSTER_ROUTE_PORT=()
    NATS_CLUSTER_CLIENT_PORT=()
    for ((i = 0; i < NATS_CLUSTER_NODES; i++)); do
        NATS_CLUSTER_ROUTE_PORT[i]=$(_nats_free_port) || return 1
        NATS_CLUSTER_CLIENT_PORT[i]=-1
    done
    NATS_CLUSTER_URL=()
    NATS_CLUSTER_PID=()
    for ((i = 0; i < NATS_CLUSTER_NODES; i++)); do
        nats_cluster_node_start "$i" || return 1
    done
    NATS_CLUSTER_URLS=$(IFS=,; echo "${NATS_CLUSTER_URL[*]}")
}

nats_cluster_node_start() {
    local i=$1 routes=() j
    for ((j = 0; j < NATS_CLUSTER_NODES; j++)); do
        ((j == i)) || routes+=("nats://127.0.0.1:${NATS_CLUSTER_ROUTE_PORT[j]}")
    done
    # -p: a free port the first time, the same port on restarts.
    local port=${NATS_CLUSTER_CLIENT_PORT[i]}
    _nats_start_node "$NATS_CLUSTER_DIR/n$((i + 1))" -p "$port" --server_name "n$((i + 1))" \
        --cluster_name kvw --cluster "nats://127.0.0.1:${NATS_CLUSTER_ROUTE_PORT[i]}" \
        --routes "$(IFS=,; echo "${routes[*]}")" "${NATS_CLUSTER_ARGS[@]}" || return 1
    NATS_CLUSTER_URL[i]=$NATS_SERVER_URL
    NATS_CLUSTER_PID[i]=$NATS_SERVER_PID
    NATS_CLUSTER_CLIENT_PORT[i]=${NATS_SERVER_URL##*:}
}

nats_cluster_node_stop() {
    local pid=${NATS_CLUSTER_PID[$1]}
    kill "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

nats_cluster_stream_leader() {
    local i
    for ((i = 0; i < NATS_CLUSTER_NODES; i++)); do
        kill -0 "${NATS_CLUSTER_PID[i]}" 2>/dev/null || continue
        if nats_request "${NATS_CLUSTER_URL[i]}" "\$JS.API.STREAM.INFO.$1" '' &&
            [[ $NATS_REPLY =~ \"cluster\":\{[^}]*\"leader\":\"([^\"]+)\" ]]; then
            echo "${BASH_REMATCH[1]}"
            return 0
        fi
    done
    return 1
}

_nats_cluster_logs() {
    local f
    for f in "$NATS_CLUSTER_DIR"/n*/log; do
        [[ -f $f ]] && { echo "---- $f" >&2; tail -n 30 "$f" >&2; }
    done
}
