/*
 * kvw bench — how fast kvw writes, measured against raw nats.c in the same
 * process, on the same nats-server, in the same run.
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kvw/kvw.h>
#include <kvw/kvw_uv.h>
#include <nats/nats.h>
#include <uv.h>

/* ------------------------------------------------------------ config */

enum bench_op { OP_PUT, OP_CREATE, OP_UPDATE, OP_DELETE, OP_DWV, OP_GET };
static const char *const op_names[] = {"put", "create", "update", "delete", "delete_with_version", "get"};
/* What the kvStore loop calls for each op. */
static const char *const kvstore_names[] = {"kvStore_Put", "kvStore_Create", "kvStore_Update",
                                            "kvStore_Delete", "kvStore_Update(empty)", "kvStore_Get"};

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
    uint64_t raw_ops;
    uint64_t kvstore_ops;
    int baselines;
    int settle; /* also read RSS op_timeout + 1.5 s after the kvw run */
    int rounds; /* kvw, raw and kvStore phases alternate this many times */
} bench_config;

static const char bench_usage[] =
    "usage: kvw bench [OP] [options]\n"
    "\n"
    "Measures kvw against raw nats.c in one process, on one nats-server, in\n"
    "one run: kvw's ops/s and latency (submit -> callback), peak RSS, and the\n"
    "ratios to nats.c js_PublishMsgAsync (same window, plain ack counter) and\n"
    "to a nats.c kvStore_* loop.\n"
    "\n"
    "OP: put (default), create, update, delete, delete_with_version, get\n"
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
    "  --kvstore-ops N      ops in the kvStore loop [min(--ops, 20000)]\n"
    "  --rounds R           alternate kvw, raw and kvStore R times, each doing\n"
    "                       1/R of its ops, so that all three see the same load\n"
    "                       on a busy machine [1]\n"
    "  --no-baselines       run the kvw phase only (no ratios)\n"
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

/* ------------------------------------------------------------ time, memory */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void sleep_us(int n)
{
    struct timespec ts = {0, (long)n * 1000L};
    nanosleep(&ts, NULL);
}

/* A field of /proc/self/status in bytes (VmRSS, VmHWM), 0 if unreadable. */
static uint64_t proc_status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t kb = 0;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtoull(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

/* Bytes allocated with malloc and not yet freed, over all arenas: what the
 * process still holds, as opposed to RSS, which also counts free memory the
 * allocator keeps. */
static uint64_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0). 0 on success. */
static int reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

/* CPU time (user + system) of this process, and its context switches. */
typedef struct cpu_use {
    uint64_t cpu_ns;
    uint64_t switches;
    uint64_t server_cpu_ns; /* the private server's, 0 when not ours */
} cpu_use;

static pid_t g_server_pid_for_cpu;

/* utime + stime of process `pid` from /proc/PID/stat, in ns. */
static uint64_t proc_cpu_ns(pid_t pid)
{
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (ut + st) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
}

static cpu_use cpu_now(void)
{
    struct rusage ru;
    cpu_use c;
    memset(&c, 0, sizeof c);
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        c.cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u +
                   (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
        c.switches = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
    }
    c.server_cpu_ns = proc_cpu_ns(g_server_pid_for_cpu);
    return c;
}

/* ------------------------------------------------------------ histogram */

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

static void hist_add(hist *h, uint64_t v)
{
    unsigned i;
    if (v < HIST_LINEAR) {
        i = (unsigned)v;
    } else {
        int e = 63 - __builtin_clzll(v);
        if (e > HIST_MAX_EXP) {
            e = HIST_MAX_EXP;
            v = (UINT64_C(2) << e) - 1;
        }
        unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
        i = HIST_LINEAR + (unsigned)(e - HIST_SUB_BITS - 1) * HIST_SUB + sub;
    }
    h->b[i]++;
    h->count++;
}

static void hist_merge(hist *into, const hist *h)
{
    into->count += h->count;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->b[i] += h->b[i];
}

/* The value (ns, bucket midpoint) below which a fraction p of samples lie. */
static double hist_quantile(const hist *h, double p)
{
    if (h->count == 0)
        return 0;
    uint64_t target = (uint64_t)(p * (double)h->count);
    if (target < 1)
        target = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= target) {
            if (i < HIST_LINEAR)
                return i;
            unsigned e = HIST_SUB_BITS + 1 + (i - HIST_LINEAR) / HIST_SUB;
            unsigned sub = (i - HIST_LINEAR) % HIST_SUB;
            double width = (double)(UINT64_C(1) << (e - HIST_SUB_BITS));
            return (double)(HIST_SUB + sub) * width + width / 2;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ private server */

typedef struct server {
    char dir[256];
    pid_t pid;
    char url[128];
} server;

static server g_server; /* also read by the signal handler */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int status;
        for (int i = 0; i < 1000; i++) {
            pid_t r = waitpid(s->pid, &status, WNOHANG);
            if (r == s->pid || (r < 0 && errno != EINTR))
                break;
            if (i == 500)
                kill(s->pid, SIGKILL);
            sleep_ms(10);
        }
        s->pid = 0;
    }
    if (s->dir[0]) {
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        s->dir[0] = '\0';
    }
}

/* Interrupted: stop the server and remove its directory, then leave. Not
 * strictly async-signal-safe (nftw), which is acceptable on the way out. */
static void on_signal(int sig)
{
    server_stop(&g_server);
    _exit(128 + sig);
}

static int resolve_server_bin(char *out, size_t size)
{
    const char *bin = getenv("NATS_SERVER_BIN");
    if (bin && *bin) {
        snprintf(out, size, "%s", bin);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
    if (!copy)
        return -1;
    int found = -1;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && found != 0; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, size, "%s/nats-server", *d ? d : ".");
        found = access(out, X_OK) == 0 ? 0 : -1;
    }
    free(copy);
    const char *fallbacks[] = {"/usr/sbin/nats-server", "/usr/local/sbin/nats-server"};
    for (size_t i = 0; found != 0 && i < 2; i++) {
        snprintf(out, size, "%s", fallbacks[i]);
        found = access(out, X_OK) == 0 ? 0 : -1;
    }
    return found;
}

/* Reads "nats":["nats://127.0.0.1:PORT"] from DIR/<exe>_<pid>.ports. */
static int read_ports_file(server *s)
{
    char suffix[64];
    snprintf(suffix, sizeof suffix, "_%ld.ports", (long)s->pid);
    DIR *d = opendir(s->dir);
    if (!d)
        return -1;
    char path[600] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0) {
            snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
            break;
        }
    }
    closedir(d);
    if (!path[0])
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strstr(buf, "\"nats\"");
    p = p ? strchr(p, '[') : NULL;
    p = p ? strchr(p, '"') : NULL;
    const char *q = p ? strchr(p + 1, '"') : NULL;
    if (!q || (size_t)(q - p - 1) >= sizeof s->url)
        return -1;
    memcpy(s->url, p + 1, (size_t)(q - p - 1));
    s->url[q - p - 1] = '\0';
    return 0;
}

static int server_start(server *s)
{
    char bin[1024];
    if (resolve_server_bin(bin, sizeof bin) != 0) {
        fprintf(stderr, "kvw: bench: nats-server not found (set NATS_SERVER_BIN or use --server)\n");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/kvw-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "kvw: bench: mkdtemp: %s\n", strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    char store[300], log[300];
    snprintf(store, sizeof store, "%s/store", s->dir);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kvw: bench: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The server goes when we go, however we go. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        char *args[] = {bin, "-js", "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", s->dir, "-sd", store, NULL};
        execv(bin, args);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 1000; i++) {
        if (read_ports_file(s) == 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            break;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "kvw: bench: nats-server did not start (log: %s)\n", log);
    FILE *f = fopen(log, "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            fputs(line, stderr);
        fclose(f);
    }
    return -1;
}

/* ------------------------------------------------------------ phases */

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

static uint64_t ald(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

/* How many ops the thread may submit now. */
static uint64_t room(worker *w)
{
    uint64_t done = ald(&w->completed); /* before submitted: never above it */
    uint64_t inflight = ald(&w->submitted) - done;
    uint64_t r = inflight >= w->window ? 0 : w->window - inflight;
    if (w->use_ring) {
        uint64_t head = ald(&w->ring_head);
        uint64_t free_slots = ald(&w->ring_tail) - head;
        if (free_slots < r)
            r = free_slots;
    }
    return r;
}

static void wake_if_waiting(worker *w, uint64_t completed)
{
    if (!__atomic_load_n(&w->waiting, __ATOMIC_SEQ_CST))
        return;
    if (completed == w->nops || room(w) >= w->batch) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void count_failure(worker *w, int status, const char *text)
{
    switch (status) {
    case KVW_ECONFLICT: w->conflicts++; return;
    case KVW_EEXIST: w->exists++; return;
    case KVW_ENOTFOUND: w->notfound++; return;
    case KVW_ETIMEDOUT: w->timeouts++; break;
    default: w->errors++; break;
    }
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof w->first_error, "%s: %s", kvw_err_name(status),
                 text ? text : kvw_strerror(status));
}

/* A completion of slot `si` of `w` (latency already recorded). */
static void completed_one(worker *w, uint32_t si)
{
    if (w->use_ring) {
        uint64_t tail = w->ring_tail;
        w->ring[tail & w->ring_mask] = si;
        __atomic_store_n(&w->ring_tail, tail + 1, __ATOMIC_SEQ_CST);
    }
    uint64_t c = __atomic_add_fetch(&w->completed, 1, __ATOMIC_SEQ_CST);
    wake_if_waiting(w, c);
}

static int pop_slot(worker *w, uint32_t *si)
{
    uint64_t head = w->ring_head;
    if (head == ald(&w->ring_tail))
        return 0;
    *si = w->ring[head & w->ring_mask];
    __atomic_store_n(&w->ring_head, head + 1, __ATOMIC_SEQ_CST);
    return 1;
}

static uint32_t pick_key(worker *w)
{
    const phase *ph = w->ph;
    uint64_t i = w->next_key++;
    if (ph->fresh)
        return (uint32_t)(ph->key_base + (uint64_t)w->index + (uint64_t)ph->nthreads * i);
    return (uint32_t)((uint64_t)w->index + (uint64_t)ph->nthreads * (i % w->nown));
}

static void key_name(char *buf, size_t size, const phase *ph, uint32_t key)
{
    snprintf(buf, size, "%s%" PRIu32, ph->prefix, key);
}

/* The key index at the end of a subject or reply ("….w123" → 123). */
static uint32_t trailing_index(const char *s)
{
    if (!s)
        return 0;
    const char *e = s + strlen(s), *p = e;
    while (p > s && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return (uint32_t)strtoul(p, NULL, 10);
}

/* ---- kvw */

static void on_kvw_done(const kvw_result *r, void *user_data)
{
    uint64_t t = now_ns();
    slot *s = user_data;
    worker *w = s->w;
    hist_add(&w->h, t - s->t_submit);
    uint64_t v = 0;
    if (r->status == KVW_OK) {
        w->ok++;
        if (w->ph->chained && kvw_version_to_u64(&r->version, &v) == 0)
            s->version = v;
    } else {
        count_failure(w, r->status, r->message);
        /* A conflict names the key's current version: carry on from it. */
        if (r->status == KVW_ECONFLICT && w->ph->chained && kvw_version_to_u64(&r->version, &v) == 0)
            s->version = v;
    }
    completed_one(w, (uint32_t)(s - w->slots));
}

static int kvw_submit(phase *ph, slot *s)
{
    char key[64];
    key_name(key, sizeof key, ph, s->key);
    kvw_bucket *b = ph->kbucket;
    kvw_version expected;
    switch (ph->op) {
    case OP_PUT: return kvw_put(b, key, ph->value, ph->value_size, on_kvw_done, s);
    case OP_CREATE: return kvw_create(b, key, ph->value, ph->value_size, on_kvw_done, s);
    case OP_UPDATE:
        expected = kvw_version_from_u64(s->version);
        return kvw_update(b, key, ph->value, ph->value_size, &expected, on_kvw_done, s);
    case OP_DELETE: return kvw_delete(b, key, on_kvw_done, s);
    case OP_DWV:
        expected = kvw_version_from_u64(ph->versions[s->key]);
        return kvw_delete_with_version(b, key, &expected, on_kvw_done, s);
    case OP_GET: return kvw_get(b, key, on_kvw_done, s);
    }
    return KVW_EINTERNAL;
}

/* ---- raw nats.c */

/* The ack handler's closure: which raw phase is running. */
typedef struct raw_ctx {
    phase *ph;
    uint64_t slow_consumer; /* atomic: NATS_SLOW_CONSUMER events on the connection */
} raw_ctx;

static raw_ctx g_raw;

static void raw_complete(phase *ph, uint32_t key, int status, uint64_t version, const char *text)
{
    uint64_t t = now_ns();
    worker *w = &ph->workers[(key - ph->key_base) % (uint64_t)ph->nthreads];
    uint32_t si = ph->chained ? key / (uint32_t)ph->nthreads : (uint32_t)(w->completed % w->window);
    slot *s = &w->slots[si];
    hist_add(&w->h, t - s->t_submit);
    if (status == KVW_OK) {
        w->ok++;
        if (ph->versions && !ph->chained && ph->op == OP_PUT)
            ph->versions[key] = version; /* setup */
        if (ph->chained)
            s->version = version;
    } else {
        count_failure(w, status, text);
    }
    completed_one(w, si);
}

static void on_raw_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    raw_ctx *rc = closure;
    uint32_t key = trailing_index(natsMsg_GetSubject(msg));
    natsMsg_Destroy(msg);
    int status = KVW_OK;
    const char *text = NULL;
    if (pa == NULL) {
        text = pae && pae->ErrText ? pae->ErrText : "no ack";
        if (pae && pae->ErrCode == JSStreamWrongLastSequenceErr)
            status = KVW_ECONFLICT;
        else if (pae && pae->Err == NATS_TIMEOUT)
            status = KVW_ETIMEDOUT;
        else
            status = KVW_ESERVER;
    }
    if (rc->ph)
        raw_complete(rc->ph, key, status, pa ? pa->Sequence : 0, text);
}

static void on_raw_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    raw_ctx *rc = closure;
    uint32_t key = trailing_index(natsMsg_GetSubject(msg));
    const char *status = NULL;
    int st = KVW_OK;
    if (natsMsg_IsNoResponders(msg))
        st = KVW_ENOBUCKET;
    else if (natsMsgHeader_Get(msg, "Status", &status) == NATS_OK && status)
        st = strcmp(status, "404") == 0 ? KVW_ENOTFOUND : KVW_ESERVER;
    natsMsg_Destroy(msg);
    if (rc->ph)
        raw_complete(rc->ph, key, st, 0, status);
}

static void on_nats_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    (void)sub;
    raw_ctx *rc = closure;
    if (err == NATS_SLOW_CONSUMER)
        __atomic_add_fetch(&rc->slow_consumer, 1, __ATOMIC_SEQ_CST);
}

static int raw_submit(phase *ph, slot *s)
{
    char subj[320], key[64];
    key_name(key, sizeof key, ph, s->key);
    snprintf(subj, sizeof subj, "$KV.%s.%s", ph->bucket, key);
    natsStatus st;
    if (ph->op == OP_GET) {
        char reply[160], direct[160], body[400];
        snprintf(reply, sizeof reply, "%s.%" PRIu32, ph->inbox, s->key);
        snprintf(direct, sizeof direct, "$JS.API.DIRECT.GET.KV_%s", ph->bucket);
        int n = snprintf(body, sizeof body, "{\"last_by_subj\":\"%s\"}", subj);
        st = natsConnection_PublishRequest(ph->nc, direct, reply, body, n);
        return st == NATS_OK ? 0 : KVW_ESERVER;
    }
    const int carries = ph->op == OP_PUT || ph->op == OP_CREATE || ph->op == OP_UPDATE;
    natsMsg *m = NULL;
    st = natsMsg_Create(&m, subj, NULL, carries ? ph->value : NULL, carries ? (int)ph->value_size : 0);
    if (st == NATS_OK && ph->op == OP_DELETE)
        st = natsMsgHeader_Set(m, "KV-Operation", "DEL");
    if (st != NATS_OK) {
        natsMsg_Destroy(m);
        return KVW_ENOMEM;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    /* As kvw: a lost ack must be reported. 0 leaves it unset (nats.c then
     * waits for ever and keeps nothing per publish). */
    if (ph->cfg->raw_maxwait_ms > 0)
        po.MaxWait = ph->cfg->raw_maxwait_ms;
    if (ph->op == OP_CREATE)
        po.ExpectNoMessage = true;
    else if (ph->op == OP_UPDATE)
        po.ExpectLastSubjectSeq = s->version;
    else if (ph->op == OP_DWV)
        po.ExpectLastSubjectSeq = ph->versions[s->key];
    st = js_PublishMsgAsync(ph->js, &m, &po);
    if (st != NATS_OK) {
        natsMsg_Destroy(m);
        return KVW_ESERVER;
    }
    return 0;
}

/* ---- submitting threads */

/* Waits for room (final = 0) or for every op to complete (final = 1). */
static void wait_for(worker *w, int final)
{
    phase *ph = w->ph;
    if (ph->kind == PH_KVW && ph->cfg->delivery == KVW_DELIVERY_POLL) {
        kvw_client_poll(ph->client, 100); /* our callbacks run here */
        return;
    }
    pthread_mutex_lock(&w->mu);
    __atomic_store_n(&w->waiting, 1, __ATOMIC_SEQ_CST);
    while (final ? ald(&w->completed) < w->nops : room(w) < w->batch)
        pthread_cond_wait(&w->cv, &w->mu);
    __atomic_store_n(&w->waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&w->mu);
}

static void *submitter_main(void *arg)
{
    worker *w = arg;
    phase *ph = w->ph;
    const int poll_mode = ph->kind == PH_KVW && ph->cfg->delivery == KVW_DELIVERY_POLL;
    uint32_t si = 0;
    int have_slot = 0, busy_streak = 0;
    while (w->submitted < w->nops) {
        if (!have_slot) {
            if (room(w) == 0) {
                wait_for(w, 0);
                continue;
            }
            if (w->use_ring) {
                if (!pop_slot(w, &si))
                    continue;
            } else {
                si = (uint32_t)(w->submitted % w->window);
            }
            have_slot = 1;
            if (!ph->chained)
                w->slots[si].key = pick_key(w);
        }
        slot *s = &w->slots[si];
        s->t_submit = now_ns();
        int rc = ph->kind == PH_KVW ? kvw_submit(ph, s) : raw_submit(ph, s);
        if (rc == KVW_EBUSY) {
            /* A callback still running counts in kvw's window: retry. */
            w->busy++;
            if (poll_mode)
                kvw_client_poll(ph->client, 1);
            else if (++busy_streak < 16)
                sched_yield();
            else
                sleep_us(20);
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "kvw: bench: %s: submit failed: %s\n", ph->label, kvw_err_name(rc));
            ph->failed = 1;
            /* Give up on the rest: count them as submitted and completed. */
            uint64_t left = w->nops - w->submitted;
            __atomic_add_fetch(&w->completed, left, __ATOMIC_SEQ_CST);
            __atomic_store_n(&w->submitted, w->nops, __ATOMIC_SEQ_CST);
            break;
        }
        have_slot = 0;
        busy_streak = 0;
        __atomic_store_n(&w->submitted, w->submitted + 1, __ATOMIC_SEQ_CST);
        if (poll_mode && (w->submitted & 63) == 0)
            kvw_client_poll(ph->client, 0);
    }
    while (ald(&w->completed) < w->nops)
        wait_for(w, 1);
    return NULL;
}

/* ---- kvStore loop */

static void *kvstore_main(void *arg)
{
    worker *w = arg;
    phase *ph = w->ph;
    char key[64];
    for (uint64_t i = 0; i < w->nops; i++) {
        uint32_t k = pick_key(w);
        key_name(key, sizeof key, ph, k);
        uint64_t rev = 0, t0 = now_ns();
        natsStatus st = NATS_OK;
        kvEntry *e = NULL;
        switch (ph->op) {
        case OP_PUT: st = kvStore_Put(&rev, ph->kv, key, ph->value, (int)ph->value_size); break;
        case OP_CREATE: st = kvStore_Create(&rev, ph->kv, key, ph->value, (int)ph->value_size); break;
        case OP_UPDATE:
            st = kvStore_Update(&rev, ph->kv, key, ph->value, (int)ph->value_size, ph->versions[k]);
            if (st == NATS_OK)
                ph->versions[k] = rev;
            break;
        case OP_DELETE: st = kvStore_Delete(ph->kv, key); break;
        case OP_DWV: st = kvStore_Update(&rev, ph->kv, key, ph->value, 0, ph->versions[k]); break;
        case OP_GET:
            st = kvStore_Get(&e, ph->kv, key);
            kvEntry_Destroy(e);
            break;
        }
        hist_add(&w->h, now_ns() - t0);
        if (st == NATS_OK)
            w->ok++;
        else
            count_failure(w, st == NATS_TIMEOUT ? KVW_ETIMEDOUT
                             : st == NATS_NOT_FOUND ? KVW_ENOTFOUND
                                                    : KVW_ESERVER,
                          nats_GetLastError(NULL));
    }
    __atomic_store_n(&w->completed, w->nops, __ATOMIC_SEQ_CST);
    return NULL;
}

/* ---- one phase */

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static void phase_free_workers(phase *ph)
{
    for (int t = 0; ph->workers && t < ph->nthreads; t++) {
        worker *w = &ph->workers[t];
        free(w->slots);
        free(w->ring);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    free(ph->workers);
    ph->workers = NULL;
}

static int phase_prepare(phase *ph)
{
    int T = ph->nthreads;
    ph->workers = calloc((size_t)T, sizeof *ph->workers);
    if (!ph->workers)
        return -1;
    for (int t = 0; t < T; t++) {
        worker *w = &ph->workers[t];
        w->ph = ph;
        w->index = t;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        w->nops = (ph->nops + (uint64_t)(T - t) - 1) / (uint64_t)T;
        w->nown = ph->nkeys > (uint32_t)t ? (ph->nkeys - (uint32_t)t + (uint32_t)T - 1) / (uint32_t)T : 0;
        w->window = ph->window / (uint32_t)T;
        if (w->window == 0)
            w->window = 1;
        if (ph->kind == PH_KVSTORE)
            continue;
        w->use_ring = ph->kind == PH_KVW || ph->chained;
        w->nslots = ph->chained ? w->nown : w->window;
        if (w->nslots == 0)
            w->nslots = 1;
        w->slots = calloc(w->nslots, sizeof *w->slots);
        if (!w->slots)
            return -1;
        for (uint32_t i = 0; i < w->nslots; i++) {
            w->slots[i].w = w;
            if (ph->chained) {
                w->slots[i].key = (uint32_t)t + (uint32_t)T * i;
                w->slots[i].version = ph->versions[w->slots[i].key];
            }
        }
        if (w->use_ring) {
            uint64_t cap = pow2_at_least(w->nslots);
            w->ring = malloc(cap * sizeof *w->ring);
            if (!w->ring)
                return -1;
            w->ring_mask = cap - 1;
            for (uint32_t i = 0; i < w->nslots; i++)
                w->ring[i] = i;
            w->ring_tail = w->nslots;
        }
        uint64_t limit = w->window < w->nslots ? w->window : w->nslots;
        uint64_t batch = limit / 8;
        if (batch > 64)
            batch = 64;
        w->batch = batch < 1 ? 1 : (uint32_t)batch;
    }
    return 0;
}

/* Async publishes of a raw phase go through a JetStream context of its own,
 * destroyed after the phase: nats.c 3.4.1 keeps a MaxWait entry per async
 * publish until its deadline (acked or not) and then runs a timeout through
 * the ack subscription, work that would otherwise land on the next phase. */
static int raw_js_open(phase *ph)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = ph->cfg->timeout_ms;
    jo.PublishAsync.AckHandler = on_raw_ack;
    jo.PublishAsync.AckHandlerClosure = &g_raw;
    natsStatus s = natsConnection_JetStream(&ph->js, ph->nc, &jo);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: JetStream context: %s\n", natsStatus_GetText(s));
        ph->js = NULL;
        return -1;
    }
    return 0;
}

/* Runs the phase's threads and gathers their results. */
static int phase_run(phase *ph)
{
    if (ph->kind == PH_RAW && raw_js_open(ph) != 0)
        return -1;
    g_raw.ph = ph->kind == PH_RAW ? ph : NULL;
    cpu_use c0 = cpu_now();
    uint64_t t0 = now_ns();
    int started = 0;
    for (int t = 0; t < ph->nthreads; t++) {
        worker *w = &ph->workers[t];
        if (pthread_create(&w->thread, NULL, ph->kind == PH_KVSTORE ? kvstore_main : submitter_main, w) != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(ph->workers[t].thread, NULL);
    ph->elapsed_ns = now_ns() - t0;
    cpu_use c1 = cpu_now();
    g_raw.ph = NULL;
    if (ph->kind == PH_RAW) {
        jsCtx_Destroy(ph->js);
        ph->js = NULL;
    }
    ph->cpu.cpu_ns = c1.cpu_ns - c0.cpu_ns;
    ph->cpu.switches = c1.switches - c0.switches;
    ph->cpu.server_cpu_ns = c1.server_cpu_ns - c0.server_cpu_ns;
    if (started < ph->nthreads) {
        fprintf(stderr, "kvw: bench: cannot start threads\n");
        return -1;
    }
    memset(&ph->h, 0, sizeof ph->h);
    for (int t = 0; t < ph->nthreads; t++) {
        worker *w = &ph->workers[t];
        hist_merge(&ph->h, &w->h);
        ph->ok += w->ok;
        ph->conflicts += w->conflicts;
        ph->exists += w->exists;
        ph->notfound += w->notfound;
        ph->timeouts += w->timeouts;
        ph->errors += w->errors;
        ph->busy += w->busy;
        if (!ph->first_error[0] && w->first_error[0])
            snprintf(ph->first_error, sizeof ph->first_error, "%s", w->first_error);
    }
    return ph->failed ? -1 : 0;
}

static double ops_per_sec(const phase *ph)
{
    return ph->elapsed_ns ? (double)ph->nops * 1e9 / (double)ph->elapsed_ns : 0;
}

/* ------------------------------------------------------------ the run */

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

/* `asap` picks the baselines' connection of a raw phase. */
static phase phase_init(bench_state *st, int kind, int op, const char *prefix, uint64_t nops, int asap)
{
    phase ph;
    memset(&ph, 0, sizeof ph);
    ph.cfg = &st->cfg;
    ph.kind = kind;
    ph.op = op;
    ph.prefix = prefix;
    ph.bucket = st->bucket;
    ph.nops = nops;
    ph.fresh = op == OP_CREATE || op == OP_DWV;
    ph.chained = op == OP_UPDATE;
    ph.nkeys = ph.fresh ? (uint32_t)nops : st->cfg.keys;
    ph.nthreads = st->cfg.threads;
    ph.window = st->cfg.window;
    ph.nc = st->conn[asap].nc;
    ph.kv = st->kv;
    ph.inbox = st->conn[asap].inbox;
    ph.value = st->value;
    ph.value_size = st->cfg.value_size;
    ph.label = kind == PH_KVW ? "kvw" : kind == PH_RAW ? (asap ? "raw (SendAsap)" : "raw (defaults)") : kvstore_names[op];
    return ph;
}

/* Writes keys [0, count) of `prefix` with raw async puts (not timed);
 * records their versions when `versions` is given. */
static int setup_keys(bench_state *st, const char *prefix, uint32_t count, uint64_t *versions)
{
    if (count == 0)
        return 0;
    phase ph = phase_init(st, PH_RAW, OP_PUT, prefix, count, st->conn[1].nc != NULL);
    ph.label = "setup";
    ph.fresh = 1;
    ph.chained = 0;
    ph.nkeys = count;
    ph.nthreads = 1;
    ph.window = 4096;
    ph.versions = versions;
    int rc = phase_prepare(&ph);
    if (rc == 0)
        rc = phase_run(&ph);
    if (rc == 0 && ph.ok != count) {
        fprintf(stderr, "kvw: bench: setup of %" PRIu32 " keys failed: %s\n", count, ph.first_error);
        rc = -1;
    }
    phase_free_workers(&ph);
    return rc;
}

/* Keys the op needs before the clock starts, and their versions. */
static int setup_for(bench_state *st, phase *ph)
{
    switch (ph->op) {
    case OP_UPDATE:
    case OP_DWV:
        ph->versions = calloc(ph->nkeys, sizeof *ph->versions);
        if (!ph->versions)
            return -1;
        return setup_keys(st, ph->prefix, ph->nkeys, ph->versions);
    case OP_GET: return setup_keys(st, ph->prefix, ph->nkeys, NULL);
    default: return 0;
    }
}

/* ---- kvw client, in each delivery mode */

typedef struct uv_runner {
    uv_loop_t loop;
    kvw_client_options opts;
    kvw_client *client;
    int rc;
    int ready;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
} uv_runner;

/* The loop's thread: opens the client there (kvw_uv.h) and runs the loop
 * until kvw's handle is closed after kvw_client_free(). */
static void *uv_thread_main(void *arg)
{
    uv_runner *u = arg;
    int rc = kvw_client_open(&u->client, &u->opts);
    pthread_mutex_lock(&u->mu);
    u->rc = rc;
    u->ready = 1;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
    if (rc == 0)
        uv_run(&u->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* One kvw round, with its own client (closing it drops what nats.c still
 * tracks for it). Memory: RSS at the start of the first round, the peak over
 * all rounds, RSS after the last. */
static int run_kvw_phase(bench_state *st, phase *ph, int first, int last)
{
    const bench_config *cfg = &st->cfg;
    kvw_client_options copts = KVW_CLIENT_OPTIONS_INIT;
    copts.servers = cfg->server;
    copts.name = "kvw-bench";
    copts.op_timeout_ms = cfg->timeout_ms;
    copts.resend_after_ms = cfg->resend_after_ms;
    copts.max_inflight = cfg->window;
    copts.delivery = (kvw_delivery)cfg->delivery;

    st->rss_before_open = proc_status_bytes("VmRSS");
    uv_runner u;
    memset(&u, 0, sizeof u);
    int rc;
    if (cfg->delivery == KVW_DELIVERY_LIBUV) {
        if (uv_loop_init(&u.loop) != 0)
            return -1;
        u.opts = copts;
        kvw_client_options_use_uv(&u.opts, &u.loop);
        pthread_mutex_init(&u.mu, NULL);
        pthread_cond_init(&u.cv, NULL);
        if (pthread_create(&u.thread, NULL, uv_thread_main, &u) != 0)
            return -1;
        pthread_mutex_lock(&u.mu);
        while (!u.ready)
            pthread_cond_wait(&u.cv, &u.mu);
        pthread_mutex_unlock(&u.mu);
        rc = u.rc;
        ph->client = u.client;
    } else {
        rc = kvw_client_open(&ph->client, &copts);
    }
    if (rc == 0) {
        kvw_bucket_options bopts = KVW_BUCKET_OPTIONS_INIT;
        bopts.read_mode = (kvw_read_mode)st->cfg.read_mode;
        rc = kvw_bucket_open(&ph->kbucket, ph->client, st->bucket, &bopts);
    }
    if (rc != 0) {
        fprintf(stderr, "kvw: bench: kvw: %s: %s\n", kvw_err_name(rc), kvw_strerror(rc));
    } else {
        if (first) {
            st->rss_start = proc_status_bytes("VmRSS");
            st->heap_start = heap_in_use();
        }
        st->peak_reset_ok = reset_peak_rss() == 0;
        rc = phase_run(ph);
        uint64_t peak = proc_status_bytes("VmHWM");
        if (peak > st->rss_peak)
            st->rss_peak = peak;
        st->rss_after = proc_status_bytes("VmRSS");
        st->heap_after = heap_in_use();
        if (cfg->settle && last) {
            /* kvw's deadline queue lets go of an op's entry at its deadline. */
            int64_t ms = cfg->timeout_ms + 1500;
            if (cfg->delivery == KVW_DELIVERY_POLL)
                kvw_client_poll(ph->client, (int)ms);
            else
                sleep_ms((int)ms);
            st->rss_settled = proc_status_bytes("VmRSS");
        }
    }
    kvw_bucket_free(ph->kbucket);
    kvw_client_free(ph->client);
    ph->kbucket = NULL;
    ph->client = NULL;
    if (cfg->delivery == KVW_DELIVERY_LIBUV) {
        pthread_join(u.thread, NULL);
        uv_loop_close(&u.loop);
        pthread_mutex_destroy(&u.mu);
        pthread_cond_destroy(&u.cv);
    }
    if (last) {
        st->rss_after_close = proc_status_bytes("VmRSS");
        st->heap_after_close = heap_in_use();
        malloc_trim(0);
        st->rss_trimmed = proc_status_bytes("VmRSS");
    }
    return rc;
}

/* Round r of `rounds` of a phase: 1/rounds of its ops (fresh keys of their
 * own), results added to `tot`. */
static int run_round(bench_state *st, phase *tot, int r, int rounds)
{
    uint64_t q = tot->nops / (uint64_t)rounds, rem = tot->nops % (uint64_t)rounds;
    phase ph = *tot;
    ph.nops = q + ((uint64_t)r < rem ? 1 : 0);
    ph.key_base = tot->fresh ? q * (uint64_t)r + ((uint64_t)r < rem ? (uint64_t)r : rem) : 0;
    ph.workers = NULL;
    ph.elapsed_ns = 0;
    memset(&ph.cpu, 0, sizeof ph.cpu);
    memset(&ph.h, 0, sizeof ph.h);
    ph.ok = ph.conflicts = ph.exists = ph.notfound = ph.timeouts = ph.errors = ph.busy = 0;
    ph.first_error[0] = '\0';
    ph.failed = 0;
    if (ph.nops == 0)
        return 0;
    int rc = phase_prepare(&ph);
    if (rc == 0)
        rc = ph.kind == PH_KVW ? run_kvw_phase(st, &ph, r == 0, r == rounds - 1) : phase_run(&ph);
    /* update: the next round goes on from the versions this one reached */
    for (int t = 0; ph.chained && ph.kind != PH_KVSTORE && t < ph.nthreads; t++)
        for (uint32_t i = 0; i < ph.workers[t].nslots && ph.workers[t].slots; i++)
            tot->versions[ph.workers[t].slots[i].key] = ph.workers[t].slots[i].version;
    tot->elapsed_ns += ph.elapsed_ns;
    tot->cpu.cpu_ns += ph.cpu.cpu_ns;
    tot->cpu.switches += ph.cpu.switches;
    tot->cpu.server_cpu_ns += ph.cpu.server_cpu_ns;
    hist_merge(&tot->h, &ph.h);
    tot->ok += ph.ok;
    tot->conflicts += ph.conflicts;
    tot->exists += ph.exists;
    tot->notfound += ph.notfound;
    tot->timeouts += ph.timeouts;
    tot->errors += ph.errors;
    tot->busy += ph.busy;
    if (!tot->first_error[0] && ph.first_error[0])
        snprintf(tot->first_error, sizeof tot->first_error, "%s", ph.first_error);
    tot->failed |= ph.failed;
    phase_free_workers(&ph);
    return rc;
}

/* ---- nats.c connections for the baselines */

static int base_connect(bench_state *st, struct base_conn *bc, int asap)
{
    const bench_config *cfg = &st->cfg;
    natsStatus s = natsOptions_Create(&bc->opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(bc->opts, cfg->server);
    if (s == NATS_OK)
        s = natsOptions_SetName(bc->opts, asap ? "kvw-bench-raw-asap" : "kvw-bench-raw");
    if (s == NATS_OK && asap)
        s = natsOptions_SetSendAsap(bc->opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(bc->opts, on_nats_error, &g_raw);
    if (s == NATS_OK)
        s = natsConnection_Connect(&bc->nc, bc->opts);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: cannot connect to %s: %s\n", cfg->server, natsStatus_GetText(s));
        return -1;
    }
    natsInbox *inbox = NULL;
    s = natsInbox_Create(&inbox);
    if (s == NATS_OK) {
        snprintf(bc->inbox, sizeof bc->inbox, "%s", (const char *)inbox);
        natsInbox_Destroy(inbox);
        char sub[160];
        snprintf(sub, sizeof sub, "%s.*", bc->inbox);
        s = natsConnection_Subscribe(&bc->inbox_sub, bc->nc, sub, on_raw_reply, &g_raw);
    }
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(bc->inbox_sub, -1, -1);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: cannot subscribe: %s\n", natsStatus_GetText(s));
        return -1;
    }
    return 0;
}

static int nats_setup(bench_state *st)
{
    const bench_config *cfg = &st->cfg;
    if (base_connect(st, &st->conn[0], 0) != 0)
        return -1;
    if (cfg->raw_send_asap != 0 && base_connect(st, &st->conn[1], 1) != 0)
        return -1;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = cfg->timeout_ms;
    natsStatus s = natsConnection_JetStream(&st->js, st->conn[0].nc, &jo); /* raw phases have their own */

    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = st->bucket;
    kc.History = 1;
    kc.Replicas = cfg->replicas;
    kc.StorageType = cfg->storage == KVW_STORAGE_MEMORY ? js_MemoryStorage : js_FileStorage;
    if (s == NATS_OK)
        s = js_CreateKeyValue(&st->kv, st->js, &kc);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: cannot create bucket %s: %s\n", st->bucket, nats_GetLastError(NULL));
        return -1;
    }
    return 0;
}

static void nats_teardown(bench_state *st)
{
    if (st->js && !st->own_server && st->kv)
        js_DeleteKeyValue(st->js, st->bucket);
    kvStore_Destroy(st->kv);
    jsCtx_Destroy(st->js);
    for (int i = 0; i < 2; i++) {
        struct base_conn *bc = &st->conn[i];
        natsSubscription_Destroy(bc->inbox_sub);
        if (bc->nc)
            natsConnection_Close(bc->nc);
        natsConnection_Destroy(bc->nc);
        natsOptions_Destroy(bc->opts);
    }
}

/* ------------------------------------------------------------ output */

static const char *delivery_name(int d)
{
    return d == KVW_DELIVERY_POLL ? "poll" : d == KVW_DELIVERY_LIBUV ? "libuv" : "thread";
}

static double us(double ns) { return ns / 1000.0; }

static double per_op(uint64_t v, const phase *ph) { return ph->nops ? (double)v / (double)ph->nops : 0; }

static void print_row(const phase *ph, const char *label)
{
    printf("%-30s %9" PRIu64 " %10.0f %10.1f %10.1f %10.1f %9.2f %9.2f %7.2f\n", label, ph->nops, ops_per_sec(ph),
           us(hist_quantile(&ph->h, 0.50)), us(hist_quantile(&ph->h, 0.99)), us(hist_quantile(&ph->h, 0.999)),
           us(per_op(ph->cpu.cpu_ns, ph)), us(per_op(ph->cpu.server_cpu_ns, ph)), per_op(ph->cpu.switches, ph));
}

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

static void print_json_phase(const char *name, const phase *ph)
{
    if (!ph) {
        printf(",\"%s_ops\":null,\"%s_ops_per_sec\":null,\"%s_p50_us\":null,\"%s_p99_us\":null", name, name, name,
               name);
        return;
    }
    printf(",\"%s_ops\":%" PRIu64 ",\"%s_ops_per_sec\":%.1f,\"%s_p50_us\":%.1f,\"%s_p99_us\":%.1f", name, ph->nops,
           name, ops_per_sec(ph), name, us(hist_quantile(&ph->h, 0.50)), name, us(hist_quantile(&ph->h, 0.99)));
    printf(",\"%s_cpu_us_per_op\":%.3f,\"%s_server_cpu_us_per_op\":%.3f,\"%s_switches_per_op\":%.3f", name,
           us(per_op(ph->cpu.cpu_ns, ph)), name, us(per_op(ph->cpu.server_cpu_ns, ph)), name,
           per_op(ph->cpu.switches, ph));
}

static double ratio(const phase *k, const phase *base)
{
    return base && ops_per_sec(base) > 0 ? ops_per_sec(k) / ops_per_sec(base) : 0;
}

static void print_ratio_json(const char *name, double v)
{
    if (v > 0)
        printf(",\"%s\":%.3f", name, v);
    else
        printf(",\"%s\":null", name);
}

/* raw: SendAsap connection (as kvw's); rawd: nats.c defaults. The ceiling
 * is the faster of the two. */
static void report(const bench_state *st, const phase *k, const phase *raw, const phase *rawd, const phase *kvs)
{
    const bench_config *c = &st->cfg;
    const phase *ceil = raw;
    if (!ceil || (rawd && ops_per_sec(rawd) > ops_per_sec(raw)))
        ceil = rawd;
    double r_raw = ratio(k, ceil), r_kvs = ratio(k, kvs);
    double p50_kvs = kvs ? hist_quantile(&kvs->h, 0.5) : 0;
    double r_p50 = p50_kvs > 0 ? hist_quantile(&k->h, 0.5) / p50_kvs : 0;
    uint64_t slow = __atomic_load_n(&g_raw.slow_consumer, __ATOMIC_SEQ_CST);
    if (c->json) {
        printf("{\"op\":\"%s\",\"ops\":%" PRIu64 ",\"value_size\":%" PRIu32 ",\"keys\":%" PRIu32
               ",\"window\":%" PRIu32 ",\"delivery\":\"%s\",\"threads\":%d,\"storage\":\"%s\",\"rounds\":%d",
               op_names[c->op], k->nops, c->value_size, c->keys, c->window, delivery_name(c->delivery), c->threads,
               c->storage == KVW_STORAGE_MEMORY ? "memory" : "file", c->rounds);
        printf(",\"replicas\":%d,\"read\":\"%s\"", c->replicas,
               c->read_mode == KVW_READ_DIRECT ? "direct" : c->read_mode == KVW_READ_LEADER ? "leader" : "checked");
        printf(",\"ops_per_sec\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"elapsed_s\":%.3f",
               ops_per_sec(k), us(hist_quantile(&k->h, 0.5)), us(hist_quantile(&k->h, 0.99)),
               us(hist_quantile(&k->h, 0.999)), (double)k->elapsed_ns / 1e9);
        printf(",\"cpu_us_per_op\":%.3f,\"server_cpu_us_per_op\":%.3f,\"switches_per_op\":%.3f",
               us(per_op(k->cpu.cpu_ns, k)), us(per_op(k->cpu.server_cpu_ns, k)), per_op(k->cpu.switches, k));
        printf(",\"peak_rss_bytes\":%" PRIu64 ",\"rss_start_bytes\":%" PRIu64 ",\"rss_after_bytes\":%" PRIu64
               ",\"rss_after_close_bytes\":%" PRIu64 ",\"rss_after_trim_bytes\":%" PRIu64,
               st->peak_reset_ok ? st->rss_peak : 0, st->rss_start, st->rss_after, st->rss_after_close,
               st->rss_trimmed);
        if (c->settle)
            printf(",\"rss_settled_bytes\":%" PRIu64, st->rss_settled);
        printf(",\"heap_start_bytes\":%" PRIu64 ",\"heap_after_bytes\":%" PRIu64
               ",\"heap_after_close_bytes\":%" PRIu64,
               st->heap_start, st->heap_after, st->heap_after_close);
        print_ratio_json("ratio_vs_raw_async", r_raw);
        print_ratio_json("ratio_vs_kvstore_put", r_kvs);
        print_ratio_json("ratio_p50_vs_kvstore_put", r_p50);
        print_ratio_json("ratio_vs_raw_async_send_asap", ratio(k, raw));
        print_ratio_json("ratio_vs_raw_async_defaults", ratio(k, rawd));
        printf(",\"raw_async_ceiling\":%s", !ceil ? "null" : ceil == raw ? "\"send_asap\"" : "\"defaults\"");
        print_json_phase("raw_async", ceil);
        print_json_phase("raw_async_send_asap", raw);
        print_json_phase("raw_async_defaults", rawd);
        print_json_phase("kvstore", kvs);
        printf(",\"kvstore_call\":\"%s\"", kvstore_names[c->op]);
        printf(",\"conflicts\":%" PRIu64 ",\"exists\":%" PRIu64 ",\"not_found\":%" PRIu64 ",\"timeouts\":%" PRIu64
               ",\"errors\":%" PRIu64 ",\"busy_retries\":%" PRIu64 ",\"slow_consumer_events\":%" PRIu64 "}\n",
               k->conflicts, k->exists, k->notfound, k->timeouts, k->errors, k->busy, slow);
        return;
    }
    printf("kvw bench: %s, %" PRIu64 " ops, %" PRIu32 " B values, %" PRIu32 " keys, window %" PRIu32
           ", delivery %s, %d thread%s, %s storage, R%d, %s reads, %d round%s\n",
           op_names[c->op], k->nops, c->value_size, c->keys, c->window, delivery_name(c->delivery), c->threads,
           c->threads == 1 ? "" : "s", c->storage == KVW_STORAGE_MEMORY ? "memory" : "file", c->replicas,
           c->read_mode == KVW_READ_DIRECT ? "direct" : c->read_mode == KVW_READ_LEADER ? "leader" : "checked",
           c->rounds, c->rounds == 1 ? "" : "s");
    printf("server: %s%s\n\n", c->server, st->own_server ? " (private, started by kvw bench)" : "");
    printf("%-30s %9s %10s %10s %10s %10s %9s %9s %7s\n", "", "ops", "ops/s", "p50 us", "p99 us", "p99.9 us",
           "cpu us/op", "srv us/op", "csw/op");
    const char *what = c->op == OP_GET ? "raw async direct get" : "raw js_PublishMsgAsync";
    char label[96], label_asap[96], label_def[96];
    snprintf(label, sizeof label, "kvw %s (%s)", op_names[c->op], delivery_name(c->delivery));
    snprintf(label_asap, sizeof label_asap, "%s, SendAsap", what);
    snprintf(label_def, sizeof label_def, "%s, defaults", what);
    print_row(k, label);
    if (raw)
        print_row(raw, label_asap);
    if (rawd)
        print_row(rawd, label_def);
    if (kvs)
        print_row(kvs, kvstore_names[c->op]);
    printf("\n");
    if (raw)
        printf("ratio kvw / %s: %.3f (ops/s)%s\n", label_asap, ratio(k, raw), ceil == raw ? "  <- ceiling" : "");
    if (rawd)
        printf("ratio kvw / %s: %.3f (ops/s)%s\n", label_def, ratio(k, rawd), ceil == rawd ? "  <- ceiling" : "");
    if (kvs)
        printf("ratio kvw / %s loop: %.3f (ops/s); p50 latency %.3f\n", kvstore_names[c->op], r_kvs, r_p50);
    if (!ceil && !kvs)
        printf("ratios: none (--no-baselines)\n");
    printf("memory (kvw phase): RSS %.1f MiB at start, peak %.1f MiB (VmHWM%s), %.1f MiB after, "
           "%.1f MiB after close, %.1f MiB after malloc_trim",
           mib(st->rss_start), mib(st->rss_peak), st->peak_reset_ok ? "" : ", not reset: process peak",
           mib(st->rss_after), mib(st->rss_after_close), mib(st->rss_trimmed));
    if (c->settle)
        printf(", %.1f MiB settled", mib(st->rss_settled));
    printf("\n");
    printf("heap in use (malloc, kvw phase): %.1f MiB at start, %.1f MiB after, %.1f MiB after close\n",
           mib(st->heap_start), mib(st->heap_after), mib(st->heap_after_close));
    printf("kvw outcomes: %" PRIu64 " ok, %" PRIu64 " conflicts, %" PRIu64 " exists, %" PRIu64 " not found, %" PRIu64
           " timeouts, %" PRIu64 " errors; %" PRIu64 " EBUSY retries; %" PRIu64 " slow-consumer events\n",
           k->ok, k->conflicts, k->exists, k->notfound, k->timeouts, k->errors, k->busy, slow);
    if (k->first_error[0])
        printf("first kvw error: %s\n", k->first_error);
}

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
    for (int i = 0; i < (int)(sizeof op_names / sizeof op_names[0]); i++)
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
        if (strcmp(name, "--json") == 0 || strcmp(name, "--no-baselines") == 0 || strcmp(name, "--settle") == 0) {
            if (eq)
                return bench_usage_error("option '%s' takes no value", name);
            if (strcmp(name, "--json") == 0)
                c->json = 1;
            else if (strcmp(name, "--settle") == 0)
                c->settle = 1;
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

int bench_main(int argc, char **argv)
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
    int parsed = parse_bench_args(argc, argv, c);
    if (parsed < 0)
        return 2;
    if (parsed == 1) {
        fputs(bench_usage, stdout);
        return 0;
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
        if (server_start(&g_server) != 0) {
            server_stop(&g_server);
            return 1;
        }
        c->server = g_server.url;
        st.own_server = 1;
        g_server_pid_for_cpu = g_server.pid;
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
    server_stop(&g_server);
    return rc == 0 ? 0 : 1;
}
