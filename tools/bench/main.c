/*
 * kvw bench (the kvw-bench program, which `kvw bench` runs) — how fast kvw
 * writes, measured against raw nats.c in the same process, on the same
 * nats-server, in the same run. bench.h says which file does what.
 *
 * Three phases run one after the other on one bucket, each on its own keys:
 *
 *   kvw      the public kvw API (kvw_put …) with max_inflight = --window and
 *            the chosen delivery mode; latency is submit → callback.
 *   raw      nats.c js_PublishMsgAsync straight to $KV.<bucket>.<key> (the
 *            same bytes kvw sends: same headers, same MaxWait), an ack
 *            handler that only counts, and the same window: the ceiling of
 *            one connection. Gets are direct-get requests with an inbox.
 *   kvstore  nats.c kvStore_Put (Create, Update, Delete, Get) in a loop: what
 *            a C program does today. Run for fewer ops (min(N, 20000)).
 *
 * With --threads T each phase runs T submitting threads; thread t owns the
 * keys whose index is t modulo T and a 1/T share of the window.
 *
 * Memory: peak RSS is the kernel's VmHWM over the kvw phase alone (reset
 * through /proc/self/clear_refs before it starts); RSS is read before and
 * after. The benchmark's own bookkeeping is sized by the window, not by the
 * number of ops (latencies go to a fixed-size histogram), except the version
 * table of delete_with_version (8 bytes a key, allocated before the start).
 *
 * Unless --server is given, a private nats-server is started
 * (nats-server -js -a 127.0.0.1 -p -1 --ports_file_dir DIR -sd DIR/store)
 * and stopped at exit, and its directory removed.
 */
#define _GNU_SOURCE

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "support/natsserver.h"

static const char bench_usage[] =
    "usage: kvw bench [OP] [options]\n"
    "\n"
    "Measures kvw against raw nats.c in one process, on one nats-server, in\n"
    "one run: kvw's ops/s and latency (submit -> callback), peak RSS, and the\n"
    "ratios to nats.c js_PublishMsgAsync (same window, plain ack counter) and\n"
    "to a nats.c kvStore_* loop.\n"
    "\n"
    "OP: put (default), create, update, delete, delete_with_version, get, or\n"
    "    txn: transactions of K puts (nats-server 2.12+) for each K of\n"
    "    --txn-sizes, as commits/s and keys/s against the raw put ceiling\n"
    "\n"
    "--mode bulk: puts through a bulk handle (fast-ingest batches, nats-server\n"
    "    2.14+) against raw js_PublishMsgAsync and a raw nats.c fast-ingest\n"
    "    publisher, --ops puts per round for each\n"
    "\n"
    "options:\n"
    "  --op OP              the op (instead of the positional OP)\n"
    "  --ops N              ops in the kvw phase [100000]\n"
    "  --value-size B       value bytes [128]\n"
    "  --keys K             distinct keys (put, update, delete, get) [1000];\n"
    "                       create writes fresh keys, delete_with_version\n"
    "                       deletes N keys created before the clock starts\n"
    "  --window W           max_inflight, shared by the threads [16384]\n"
    "  --delivery MODE      thread, poll or libuv [thread]\n"
    "  --threads T          submitting threads [1]\n"
    "  --blocking           kvw makes blocking calls (kvw_waiter), one op at a\n"
    "                       time per thread, as the kvStore loop does; the raw\n"
    "                       phase then has one publish in flight per thread\n"
    "  --storage S          file or memory [file]\n"
    "  --replicas N         replicas of the bucket the bench creates (a cluster\n"
    "                       given with --server) [1]\n"
    "  --read MODE          kvw's reads: checked, direct or leader [checked]\n"
    "  --timeout MS         op deadline (kvw op_timeout_ms, nats.c MaxWait) [5000]\n"
    "  --resend-after MS    kvw resends a write with no ack after MS, with its write\n"
    "                       id; `never`: no ids, one send (kvw 0.1) [1000]\n"
    "  --raw-ops N          ops in the js_PublishMsgAsync phase [= --ops]\n"
    "  --raw-maxwait MS     MaxWait of the raw publishes, 0 for none [= --timeout]\n"
    "  --raw-send-asap M    raw phase on a connection with natsOptions_SetSendAsap\n"
    "                       (1, as kvw's), with nats.c's defaults (0: buffered,\n"
    "                       flushed by its flusher thread after 1 ms), or both,\n"
    "                       the faster being the ceiling [both]\n"
    "  --raw-msg-id         raw writes carry a unique Nats-Msg-Id, as kvw's write\n"
    "                       ids do: the server's duplicate tracking on both sides\n"
    "  --kvstore-ops N      ops in the kvStore loop [min(--ops, 20000)]\n"
    "  --rounds R           alternate kvw, raw and kvStore R times, each doing\n"
    "                       1/R of its ops, so that all three see the same load\n"
    "                       on a busy machine [1]\n"
    "  --no-baselines       run the kvw phase only (no ratios)\n"
    "  --mode bulk          see above\n"
    "  --txn-sizes LIST     txn: writes per transaction, comma-separated [1,10,100,1000]\n"
    "  --txn-window N       txn: commits in flight [64]\n"
    "  --settle             also read RSS op_timeout + 1.5 s after the kvw run\n"
    "  --server URL         use this server instead of starting one\n"
    "  --bucket NAME        bucket to create (and delete at the end) [kvwbench_PID]\n"
    "  --json               print one JSON object instead of the table\n"
    "  -h, --help           this help\n"
    "\n"
    "update keeps one version per key: the next update of a key is submitted\n"
    "after the previous one completed, so at most K updates are in flight.\n"
    "Exit status: 0 done, 1 failed (or an op failed other than by conflict),\n"
    "2 bad usage.\n";


/* ------------------------------------------------------------ options */

static int parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_op(const char *s)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (strcmp(s, op_names[i]) == 0)
            return i;
    if (strcmp(s, "dwv") == 0)
        return OP_DWV;
    return -1;
}

static int bench_usage_error(const char *fmt, const char *arg)
{
    fputs("kvw: bench: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'kvw bench --help'.\n", stderr);
    return -1;
}

/* 0 ok, 1 help, -1 usage error. */
static int parse_bench_args(int argc, char **argv, bench_config *c)
{
    int seen_command = 0, seen_op = 0;
    uint64_t v;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
            return 1;
        if (strncmp(arg, "--", 2) != 0) {
            if (!seen_command && strcmp(arg, "bench") == 0) {
                seen_command = 1;
            } else if (!seen_op && parse_op(arg) >= 0) {
                c->op = parse_op(arg);
                seen_op = 1;
            } else if (!seen_op && strcmp(arg, "txn") == 0) {
                c->txn = 1;
                seen_op = 1;
            } else if (!seen_op && strcmp(arg, "bulk") == 0) {
                c->bulk = 1;
                seen_op = 1;
            } else {
                return bench_usage_error("unexpected argument '%s'", arg);
            }
            continue;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name)
            return bench_usage_error("unknown option '%s'", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        /* Flags without a value. */
        if (strcmp(name, "--json") == 0 || strcmp(name, "--no-baselines") == 0 || strcmp(name, "--settle") == 0 ||
            strcmp(name, "--blocking") == 0 || strcmp(name, "--raw-msg-id") == 0) {
            if (eq)
                return bench_usage_error("option '%s' takes no value", name);
            if (strcmp(name, "--json") == 0)
                c->json = 1;
            else if (strcmp(name, "--blocking") == 0)
                c->blocking = 1;
            else if (strcmp(name, "--settle") == 0)
                c->settle = 1;
            else if (strcmp(name, "--raw-msg-id") == 0)
                c->raw_msg_id = 1;
            else
                c->baselines = 0;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val)
            return bench_usage_error("option '%s' needs a value", name);
        if (strcmp(name, "--op") == 0) {
            if ((c->op = parse_op(val)) < 0)
                return bench_usage_error("unknown op '%s'", val);
            seen_op = 1;
        } else if (strcmp(name, "--ops") == 0) {
            if (parse_u64(val, 1, UINT32_MAX, &c->ops))
                return bench_usage_error("--ops needs a number of ops, not '%s'", val);
        } else if (strcmp(name, "--value-size") == 0) {
            if (parse_u64(val, 0, 64u << 20, &v))
                return bench_usage_error("--value-size needs a number of bytes, not '%s'", val);
            c->value_size = (uint32_t)v;
        } else if (strcmp(name, "--keys") == 0) {
            if (parse_u64(val, 1, UINT32_MAX / 2, &v))
                return bench_usage_error("--keys needs a positive number, not '%s'", val);
            c->keys = (uint32_t)v;
        } else if (strcmp(name, "--window") == 0) {
            if (parse_u64(val, 1, 1u << 30, &v))
                return bench_usage_error("--window needs a positive number, not '%s'", val);
            c->window = (uint32_t)v;
        } else if (strcmp(name, "--threads") == 0) {
            if (parse_u64(val, 1, 256, &v))
                return bench_usage_error("--threads needs 1..256, not '%s'", val);
            c->threads = (int)v;
        } else if (strcmp(name, "--delivery") == 0) {
            if (strcmp(val, "thread") == 0)
                c->delivery = KVW_DELIVERY_THREAD;
            else if (strcmp(val, "poll") == 0)
                c->delivery = KVW_DELIVERY_POLL;
            else if (strcmp(val, "libuv") == 0 || strcmp(val, "uv") == 0)
                c->delivery = KVW_DELIVERY_LIBUV;
            else
                return bench_usage_error("--delivery is thread, poll or libuv, not '%s'", val);
        } else if (strcmp(name, "--replicas") == 0) {
            if (parse_u64(val, 1, 5, &v))
                return bench_usage_error("--replicas needs 1 to 5, not '%s'", val);
            c->replicas = (int)v;
        } else if (strcmp(name, "--read") == 0) {
            if (strcmp(val, "checked") == 0)
                c->read_mode = KVW_READ_CHECKED;
            else if (strcmp(val, "direct") == 0)
                c->read_mode = KVW_READ_DIRECT;
            else if (strcmp(val, "leader") == 0)
                c->read_mode = KVW_READ_LEADER;
            else
                return bench_usage_error("--read is checked, direct or leader, not '%s'", val);
        } else if (strcmp(name, "--storage") == 0) {
            if (strcmp(val, "file") == 0)
                c->storage = KVW_STORAGE_FILE;
            else if (strcmp(val, "memory") == 0)
                c->storage = KVW_STORAGE_MEMORY;
            else
                return bench_usage_error("--storage is file or memory, not '%s'", val);
        } else if (strcmp(name, "--timeout") == 0) {
            if (parse_u64(val, 1, 3600000, &v))
                return bench_usage_error("--timeout needs milliseconds, not '%s'", val);
            c->timeout_ms = (int64_t)v;
        } else if (strcmp(name, "--resend-after") == 0) {
            if (strcmp(val, "never") == 0)
                c->resend_after_ms = KVW_RESEND_NEVER;
            else if (parse_u64(val, 1, 3600000, &v))
                return bench_usage_error("--resend-after needs milliseconds or never, not '%s'", val);
            else
                c->resend_after_ms = (int64_t)v;
        } else if (strcmp(name, "--rounds") == 0) {
            if (parse_u64(val, 1, 1000, &v))
                return bench_usage_error("--rounds needs 1..1000, not '%s'", val);
            c->rounds = (int)v;
        } else if (strcmp(name, "--raw-send-asap") == 0) {
            if (strcmp(val, "both") == 0)
                c->raw_send_asap = -1;
            else if (parse_u64(val, 0, 1, &v) == 0)
                c->raw_send_asap = (int)v;
            else
                return bench_usage_error("--raw-send-asap is 0, 1 or both, not '%s'", val);
        } else if (strcmp(name, "--raw-maxwait") == 0) {
            if (parse_u64(val, 0, 3600000, &v))
                return bench_usage_error("--raw-maxwait needs milliseconds, not '%s'", val);
            c->raw_maxwait_ms = (int64_t)v;
        } else if (strcmp(name, "--raw-ops") == 0) {
            if (parse_u64(val, 1, UINT32_MAX, &c->raw_ops))
                return bench_usage_error("--raw-ops needs a number of ops, not '%s'", val);
        } else if (strcmp(name, "--kvstore-ops") == 0) {
            if (parse_u64(val, 1, UINT32_MAX, &c->kvstore_ops))
                return bench_usage_error("--kvstore-ops needs a number of ops, not '%s'", val);
        } else if (strcmp(name, "--mode") == 0) {
            if (strcmp(val, "bulk") != 0)
                return bench_usage_error("--mode is bulk, not '%s' (other ops: the positional OP)", val);
            c->bulk = 1;
        } else if (strcmp(name, "--txn-sizes") == 0) {
            c->ntxn_sizes = 0;
            for (const char *p = val; *p;) {
                char *end = NULL;
                unsigned long n = strtoul(p, &end, 10);
                if (end == p || n < 1 || n > KVW_TXN_MAX_WRITES || c->ntxn_sizes == 8 || (*end && *end != ','))
                    return bench_usage_error("--txn-sizes needs up to 8 sizes of 1..1000, e.g. 1,10,100, not '%s'", val);
                c->txn_sizes[c->ntxn_sizes++] = (uint32_t)n;
                p = *end ? end + 1 : end;
            }
        } else if (strcmp(name, "--txn-window") == 0) {
            if (parse_u64(val, 1, 100000, &v))
                return bench_usage_error("--txn-window needs a positive number, not '%s'", val);
            c->txn_window = (uint32_t)v;
        } else if (strcmp(name, "--server") == 0) {
            c->server = val;
        } else if (strcmp(name, "--bucket") == 0) {
            if (kvw_bucket_name_check(val) != 0)
                return bench_usage_error("bad bucket name '%s'", val);
            c->bucket = val;
        } else {
            return bench_usage_error("unknown option '%s'", name);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ main */

static ts_server *g_server; /* also read by the signal handler */

static void stop_server(void)
{
    ts_server *s = g_server;
    g_server = NULL;
    bench_server_pid = 0;
    ts_server_free(s);
}

/* Interrupted: stop the server and remove its directory, then leave. Not
 * strictly async-signal-safe (the directory walk), acceptable on the way out. */
static void on_signal(int sig)
{
    stop_server();
    _exit(128 + sig);
}

/* argv is `kvw-bench [bench] [OP] [options]`: `kvw bench` execs this program with
 * its own argv (tools/kvw.c). */
int main(int argc, char **argv)
{
    bench_state st;
    memset(&st, 0, sizeof st);
    bench_config *c = &st.cfg;
    c->op = OP_PUT;
    c->ops = 100000;
    c->value_size = 128;
    c->keys = 1000;
    c->window = 16384;
    c->delivery = KVW_DELIVERY_THREAD;
    c->threads = 1;
    c->storage = KVW_STORAGE_FILE;
    c->replicas = 1;
    c->read_mode = KVW_READ_CHECKED;
    c->timeout_ms = 5000;
    c->raw_maxwait_ms = -1;
    c->raw_send_asap = -1;
    c->baselines = 1;
    c->rounds = 1;
    c->txn_window = 64;
    int parsed = parse_bench_args(argc, argv, c);
    if (parsed < 0)
        return 2;
    if (parsed == 1) {
        fputs(bench_usage, stdout);
        return 0;
    }
    if (c->txn && c->ntxn_sizes == 0) {
        static const uint32_t sizes[] = {1, 10, 100, 1000};
        memcpy(c->txn_sizes, sizes, sizeof sizes);
        c->ntxn_sizes = 4;
    }
    if (c->raw_ops == 0)
        c->raw_ops = c->ops;
    if (c->raw_maxwait_ms < 0)
        c->raw_maxwait_ms = c->timeout_ms;
    if (c->kvstore_ops == 0)
        c->kvstore_ops = c->ops < 20000 ? c->ops : 20000;
    if (c->keys < (uint32_t)c->threads) {
        bench_usage_error("--keys must be at least --threads%s", "");
        return 2;
    }
    if (c->window < (uint32_t)c->threads) {
        bench_usage_error("--window must be at least --threads%s", "");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (!c->server) {
        g_server = ts_server_spawn(NULL);
        if (!g_server) {
            fprintf(stderr, "kvw: bench: no private nats-server (set NATS_SERVER_BIN or use --server)\n");
            return 1;
        }
        c->server = ts_server_url(g_server);
        st.own_server = 1;
        bench_server_pid = (pid_t)ts_server_pid(g_server);
    }
    snprintf(st.bucket, sizeof st.bucket, "%s", c->bucket ? c->bucket : "");
    if (!c->bucket)
        snprintf(st.bucket, sizeof st.bucket, "kvwbench_%ld", (long)getpid());

    int rc = -1;
    phase k, raw, rawd, kvs;
    memset(&k, 0, sizeof k);
    memset(&raw, 0, sizeof raw);
    memset(&rawd, 0, sizeof rawd);
    memset(&kvs, 0, sizeof kvs);
    int have_raw = 0, have_rawd = 0, have_kvs = 0;
    st.value = malloc(c->value_size ? c->value_size : 1);
    if (!st.value)
        goto out;
    for (uint32_t i = 0; i < c->value_size; i++)
        st.value[i] = (char)('a' + (i * 7 + 3) % 26);
    if (nats_setup(&st) != 0)
        goto out;

    /* Warm the server up (stream, store files, Go heap) before any clock. */
    {
        phase w = phase_init(&st, PH_RAW, OP_PUT, "x", c->ops < 20000 ? c->ops : 20000, st.conn[1].nc != NULL);
        w.label = "warm-up";
        w.nkeys = c->keys < 1000 ? c->keys : 1000;
        w.fresh = 0;
        w.chained = 0;
        w.nthreads = 1;
        w.window = c->window < 4096 ? c->window : 4096;
        int wrc = phase_prepare(&w);
        if (wrc == 0)
            wrc = phase_run(&w);
        phase_free_workers(&w);
        if (wrc != 0)
            goto out;
    }

    if (c->txn) {
        rc = txn_bench(&st);
        goto out;
    }
    if (c->bulk) {
        rc = bulk_bench(&st);
        goto out;
    }

    /* Each phase writes keys of its own (prefix w, r, s); those it needs
     * before the clock starts are written now. */
    k = phase_init(&st, PH_KVW, c->op, "w", c->ops, 0);
    if (setup_for(&st, &k) != 0)
        goto out;
    if (c->baselines) {
        have_raw = c->raw_send_asap != 0;
        have_rawd = c->raw_send_asap != 1;
        have_kvs = 1;
        raw = phase_init(&st, PH_RAW, c->op, "r", c->raw_ops, 1);
        rawd = phase_init(&st, PH_RAW, c->op, "d", c->raw_ops, 0);
        kvs = phase_init(&st, PH_KVSTORE, c->op, "s", c->kvstore_ops, 0);
        if (c->blocking) /* the raw round trip at the same concurrency */
            raw.window = rawd.window = (uint32_t)c->threads;
        if ((have_raw && setup_for(&st, &raw) != 0) || (have_rawd && setup_for(&st, &rawd) != 0) ||
            setup_for(&st, &kvs) != 0)
            goto out;
    }

    /* kvw first in each round, so that its memory is measured in a process
     * that has not yet run the baselines. */
    for (int r = 0; r < c->rounds; r++) {
        if (run_round(&st, &k, r, c->rounds) != 0)
            goto out;
        if (have_raw && run_round(&st, &raw, r, c->rounds) != 0)
            goto out;
        if (have_rawd && run_round(&st, &rawd, r, c->rounds) != 0)
            goto out;
        if (have_kvs && run_round(&st, &kvs, r, c->rounds) != 0)
            goto out;
    }

    report(&st, &k, have_raw ? &raw : NULL, have_rawd ? &rawd : NULL, have_kvs ? &kvs : NULL);
    fflush(stdout);
    rc = 0;
    /* Any failure but a conflict makes the figures meaningless. */
    const phase *all[] = {&k, have_raw ? &raw : NULL, have_rawd ? &rawd : NULL, have_kvs ? &kvs : NULL};
    for (int i = 0; i < 4; i++) {
        const phase *p = all[i];
        if (p && (p->timeouts || p->errors || p->exists || (p->notfound && p->op == OP_GET))) {
            fprintf(stderr, "kvw: bench: %s: %" PRIu64 " ops failed (%s)\n", p->label,
                    p->timeouts + p->errors + p->exists + p->notfound, p->first_error);
            rc = -1;
        }
    }

out:
    phase_free_workers(&k);
    phase_free_workers(&raw);
    phase_free_workers(&rawd);
    phase_free_workers(&kvs);
    free(k.versions);
    free(raw.versions);
    free(rawd.versions);
    free(kvs.versions);
    nats_teardown(&st);
    free(st.value);
    stop_server();
    return rc == 0 ? 0 : 1;
}

