/* kvw bench: phases, their submitting threads and windows, and the kvw phase
 * in each delivery mode. */
#define _GNU_SOURCE

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sched.h>

#include <kvw/kvw_uv.h>
#include <uv.h>


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

void count_failure(worker *w, int status, const char *text)
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
void completed_one(worker *w, uint32_t si)
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

uint32_t pick_key(worker *w)
{
    const phase *ph = w->ph;
    uint64_t i = w->next_key++;
    if (ph->fresh)
        return (uint32_t)(ph->key_base + (uint64_t)w->index + (uint64_t)ph->nthreads * i);
    return (uint32_t)((uint64_t)w->index + (uint64_t)ph->nthreads * (i % w->nown));
}

void key_name(char *buf, size_t size, const phase *ph, uint32_t key)
{
    snprintf(buf, size, "%s%" PRIu32, ph->prefix, key);
}

/* The key index at the end of a subject or reply ("….w123" → 123). */
uint32_t trailing_index(const char *s)
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

/* ---- blocking calls (--blocking): one op at a time per thread, through a
 * kvw_waiter, timed from submit to the waiter's return; driven like the
 * kvStore loop so that the two compare call for call. */

void *kvw_blocking_main(void *arg)
{
    worker *w = arg;
    phase *ph = w->ph;
    kvw_waiter *waiter = NULL;
    if (kvw_waiter_new(&waiter) != KVW_OK) {
        ph->failed = 1;
        __atomic_store_n(&w->completed, w->nops, __ATOMIC_SEQ_CST);
        return NULL;
    }
    char key[64];
    for (uint64_t i = 0; i < w->nops; i++) {
        uint32_t k = pick_key(w);
        key_name(key, sizeof key, ph, k);
        kvw_bucket *b = ph->kbucket;
        kvw_version expected;
        int rc = KVW_EINTERNAL;
        uint64_t t0 = now_ns();
        switch (ph->op) {
        case OP_PUT: rc = kvw_put(b, key, ph->value, ph->value_size, kvw_waiter_callback, waiter); break;
        case OP_CREATE: rc = kvw_create(b, key, ph->value, ph->value_size, kvw_waiter_callback, waiter); break;
        case OP_UPDATE:
            expected = kvw_version_from_u64(ph->versions[k]);
            rc = kvw_update(b, key, ph->value, ph->value_size, &expected, kvw_waiter_callback, waiter);
            break;
        case OP_DELETE: rc = kvw_delete(b, key, kvw_waiter_callback, waiter); break;
        case OP_DWV:
            expected = kvw_version_from_u64(ph->versions[k]);
            rc = kvw_delete_with_version(b, key, &expected, kvw_waiter_callback, waiter);
            break;
        case OP_GET: rc = kvw_get(b, key, kvw_waiter_callback, waiter); break;
        }
        const kvw_result *r = NULL;
        if (rc == KVW_OK && kvw_waiter_wait(waiter, -1, &r) != 1)
            rc = KVW_EINTERNAL;
        hist_add(&w->h, now_ns() - t0);
        if (rc != KVW_OK) {
            count_failure(w, rc, kvw_strerror(rc));
            continue;
        }
        if (r->status == KVW_OK) {
            w->ok++;
            if (ph->op == OP_UPDATE)
                kvw_version_to_u64(&r->version, &ph->versions[k]);
        } else {
            count_failure(w, r->status, r->message);
            if (r->status == KVW_ECONFLICT && ph->op == OP_UPDATE)
                kvw_version_to_u64(&r->version, &ph->versions[k]); /* carry on from the key's version */
        }
    }
    kvw_waiter_free(waiter);
    __atomic_store_n(&w->completed, w->nops, __ATOMIC_SEQ_CST);
    return NULL;
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

/* ---- one phase */

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

void phase_free_workers(phase *ph)
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

int phase_prepare(phase *ph)
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

/* Runs the phase's threads and gathers their results. */
int phase_run(phase *ph)
{
    if (ph->kind == PH_RAW && raw_js_open(ph) != 0)
        return -1;
    g_raw.ph = ph->kind == PH_RAW ? ph : NULL;
    cpu_use c0 = cpu_now();
    uint64_t t0 = now_ns();
    int started = 0;
    for (int t = 0; t < ph->nthreads; t++) {
        worker *w = &ph->workers[t];
        void *(*body)(void *) = ph->kind == PH_KVSTORE                   ? kvstore_main
                                : ph->kind == PH_KVW && ph->cfg->blocking ? kvw_blocking_main
                                                                          : submitter_main;
        if (pthread_create(&w->thread, NULL, body, w) != 0)
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

double ops_per_sec(const phase *ph)
{
    return ph->elapsed_ns ? (double)ph->nops * 1e9 / (double)ph->elapsed_ns : 0;
}


/* `asap` picks the baselines' connection of a raw phase. */
phase phase_init(bench_state *st, int kind, int op, const char *prefix, uint64_t nops, int asap)
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
int setup_for(bench_state *st, phase *ph)
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
int run_round(bench_state *st, phase *tot, int r, int rounds)
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

