/*
 * kvw bench: what the files of tools/bench/ share.
 *
 *   main.c       options, the run's order (warm-up, set-up, rounds), exit status
 *   driver.c     phases: submitting threads, windows, the kvw phase per delivery mode
 *   baselines.c  raw nats.c (js_PublishMsgAsync, direct gets) and the kvStore loop
 *   measure.c    clocks, CPU, RSS and heap, the latency histogram
 *   report.c     the table and the JSON
 *   txn.c        `txn`: transactions of K puts against the raw ceiling
 *   bulk.c       `--mode bulk`: a bulk handle against raw publish and raw fast ingest
 *
 * The private nats-server is tests/support/natsserver.c, shared with the tests.
 */
#ifndef KVW_TOOLS_BENCH_H
#define KVW_TOOLS_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <kvw/kvw.h>
#include <nats/nats.h>

/* ---- configuration (main.c) */

enum bench_op { OP_PUT, OP_CREATE, OP_UPDATE, OP_DELETE, OP_DWV, OP_GET, OP_COUNT };
extern const char *const op_names[];
/* What the kvStore loop calls for each op. */
extern const char *const kvstore_names[];

typedef struct bench_config {
    int op;
    uint64_t ops;
    uint32_t value_size;
    uint32_t keys;
    uint32_t window;
    int delivery;
    int threads;
    int storage;
    int replicas;  /* of the bucket the bench creates */
    int read_mode; /* kvw_bucket_options.read_mode of kvw's handle */
    int json;
    const char *server; /* NULL: start a private one */
    const char *bucket; /* NULL: generated */
    int64_t timeout_ms;
    int64_t resend_after_ms; /* kvw resend_after_ms: 0 default, KVW_RESEND_NEVER */
    int64_t raw_maxwait_ms; /* -1: = timeout_ms */
    int raw_send_asap;      /* raw phase: 1 SendAsap (as kvw), 0 nats.c defaults, -1 both */
    int raw_msg_id;         /* raw writes carry a unique Nats-Msg-Id, as kvw's write ids */
    uint64_t raw_ops;
    uint64_t kvstore_ops;
    int baselines;
    int settle; /* also read RSS op_timeout + 1.5 s after the kvw run */
    int rounds; /* kvw, raw and kvStore phases alternate this many times */
    int blocking; /* kvw phase: each thread makes blocking calls (kvw_waiter) */
    /* `txn`: transactions of each size instead of the op phases (txn.c) */
    int txn;
    /* `--mode bulk`: puts through a bulk handle against two ceilings (bulk.c) */
    int bulk;
    uint32_t txn_sizes[8];
    int ntxn_sizes;
    uint32_t txn_window; /* commits in flight */
} bench_config;


/* ---- measurement (measure.c) */

/* CPU time (user + system) of this process, and its context switches. */
typedef struct cpu_use {
    uint64_t cpu_ns;
    uint64_t switches;
    uint64_t server_cpu_ns; /* the private server's, 0 when not ours */
} cpu_use;

/* pid of the private nats-server whose CPU is counted; 0 when not ours. */
extern pid_t bench_server_pid;

/* Log-linear latency histogram in ns: exact below 128 ns, then 64 buckets
 * per power of two (under 1.6% error). Fixed size whatever the op count. */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_LINEAR (2u * HIST_SUB)
#define HIST_MAX_EXP 46
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - HIST_SUB_BITS) * HIST_SUB)

typedef struct hist {
    uint64_t count;
    uint64_t b[HIST_BUCKETS];
} hist;

uint64_t now_ns(void);
void sleep_ms(int ms);
void sleep_us(int n);
uint64_t proc_status_bytes(const char *field);
uint64_t heap_in_use(void);
int reset_peak_rss(void);
cpu_use cpu_now(void);
void hist_add(hist *h, uint64_t v);
void hist_merge(hist *into, const hist *h);
double hist_quantile(const hist *h, double p);
/* The median of v[0..n) (sorts v). */
double median(double *v, int n);

/* ---- phases (driver.c) */

enum phase_kind { PH_KVW, PH_RAW, PH_KVSTORE };

typedef struct phase phase;
typedef struct worker worker;

/* One op in flight (or, for update, one key). */
typedef struct slot {
    uint64_t t_submit;
    uint64_t version; /* update: the key's current version */
    uint32_t key;
    worker *w;
} slot;

struct worker {
    phase *ph;
    int index;
    pthread_t thread;
    uint64_t nops;      /* ops this thread submits */
    uint32_t nown;      /* keys this thread owns (cyclic and chained ops) */
    uint64_t next_key;  /* submitter only */
    uint32_t window;    /* this thread's share */
    uint32_t batch;     /* a waiting submitter is woken when this much room is free */
    uint64_t submitted; /* atomic: written by the submitter */
    uint64_t completed; /* atomic: written by completions */

    /* Free slots (SPSC: completions push, the submitter pops). kvw ops and
     * chained raw ops; raw ops otherwise complete in submission order, so
     * their slot is the op's number modulo the window. */
    int use_ring;
    slot *slots;
    uint32_t nslots;
    uint32_t *ring;
    uint64_t ring_mask;
    uint64_t ring_head, ring_tail; /* atomic */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int waiting; /* atomic */

    /* Written by completions only (they never run concurrently for one phase). */
    hist h;
    uint64_t ok, conflicts, exists, notfound, timeouts, errors, busy;
    char first_error[200];
};

struct phase {
    const bench_config *cfg;
    int kind;
    int op;
    const char *label;
    const char *prefix;   /* key prefix: each phase writes its own keys */
    const char *bucket;
    uint64_t nops;
    uint32_t nkeys;
    int fresh;            /* key = key_base + thread + T * i: create, delete_with_version, setup */
    uint64_t key_base;    /* fresh keys: where this round's keys start */
    int chained;          /* update: a key's next op waits for its previous one */
    uint64_t *versions;   /* per key index (setup writes, update/dwv read) */
    int nthreads;
    uint32_t window;
    worker *workers;
    /* kvw */
    kvw_client *client;
    kvw_bucket *kbucket;
    /* nats.c */
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv;
    const char *inbox;
    const char *value;
    uint32_t value_size;
    /* results */
    uint64_t elapsed_ns;
    cpu_use cpu; /* used during the run (client process and private server) */
    hist h;
    uint64_t ok, conflicts, exists, notfound, timeouts, errors, busy;
    char first_error[200];
    int failed; /* a submit failed: the phase stopped early */
};

typedef struct bench_state {
    bench_config cfg;
    char bucket[128];
    char *value;
    /* The baselines' connections: [0] nats.c defaults, [1] SendAsap (as kvw). */
    struct base_conn {
        natsOptions *opts;
        natsConnection *nc;
        natsSubscription *inbox_sub; /* raw direct-get replies */
        char inbox[128];
    } conn[2];
    jsCtx *js;   /* on conn[0]: the bucket and the kvStore loop */
    kvStore *kv;
    int own_server;
    /* the kvw phase's memory */
    uint64_t rss_before_open, rss_start, rss_peak, rss_after, rss_after_close, rss_settled, rss_trimmed;
    /* bytes malloc has handed out and not had back (all arenas) */
    uint64_t heap_start, heap_after, heap_after_close;
    int peak_reset_ok;
} bench_state;

void count_failure(worker *w, int status, const char *text);
void completed_one(worker *w, uint32_t si);
void key_name(char *buf, size_t size, const phase *ph, uint32_t key);
uint32_t pick_key(worker *w);
/* The key index at the end of a subject or reply ("….w123" → 123). */
uint32_t trailing_index(const char *s);
phase phase_init(bench_state *st, int kind, int op, const char *prefix, uint64_t nops, int asap);
int phase_prepare(phase *ph);
int phase_run(phase *ph);
void phase_free_workers(phase *ph);
int setup_for(bench_state *st, phase *ph);
int run_round(bench_state *st, phase *tot, int r, int rounds);
double ops_per_sec(const phase *ph);

/* ---- baselines (baselines.c) */

/* The ack handler's closure: which raw phase is running. */
typedef struct raw_ctx {
    phase *ph;
    uint64_t slow_consumer; /* atomic: NATS_SLOW_CONSUMER events on the connection */
} raw_ctx;
extern raw_ctx g_raw;

int raw_submit(phase *ph, slot *s);
void on_raw_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);
void *kvstore_main(void *arg);
void *kvw_blocking_main(void *arg);
int nats_setup(bench_state *st);
void nats_teardown(bench_state *st);
int raw_js_open(phase *ph);

/* ---- transactions (txn.c) */

int txn_bench(bench_state *st);
int bulk_bench(bench_state *st);

/* ---- output (report.c) */

void report(const bench_state *st, const phase *k, const phase *raw, const phase *rawd, const phase *kvs);

#endif
