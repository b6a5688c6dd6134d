/*
 * kvw bench --mode bulk: puts through a bulk handle (fast-ingest batches,
 * nats-server 2.14+) against two ceilings measured in the same run on the
 * same server and bucket: raw nats.c js_PublishMsgAsync (one ack per
 * write: the put benchmark's raw phase) and a minimal fast-ingest publisher
 * written here straight on nats.c (ADR-50: start, wait for the first reply,
 * then as many messages as the server's acks allow, the last one
 * committing), which is what the protocol gives without kvw. Rounds
 * alternate the three so each sees the same load on a busy machine.
 */
#define _GNU_SOURCE

#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the minimal fast-ingest publisher */

typedef struct fast_pub {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t acked;  /* the server's last ack: messages 1..acked are stored */
    uint64_t every;  /* the server acks every `every` messages */
    int started, committed, failed;
    char error[200];
} fast_pub;

static uint64_t json_u64(const char *data, const char *field)
{
    const char *p = strstr(data, field);
    return p ? strtoull(p + strlen(field), NULL, 10) : 0;
}

static void on_fast_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    fast_pub *f = closure;
    const char *d = natsMsg_GetDataLength(msg) > 0 ? natsMsg_GetData(msg) : "";
    pthread_mutex_lock(&f->mu);
    if (strstr(d, "\"type\":\"ack\"")) {
        uint64_t seq = json_u64(d, "\"seq\":");
        if (seq > f->acked)
            f->acked = seq;
        f->every = json_u64(d, "\"msgs\":");
        f->started = 1;
    } else if (strstr(d, "\"error\"") || strstr(d, "\"type\":\"gap\"")) {
        if (!f->failed++)
            snprintf(f->error, sizeof f->error, "%s", d);
    } else if (strstr(d, "\"count\":")) {
        f->committed = 1;
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    natsMsg_Destroy(msg);
}

/* One batch of `n` puts of fresh keys "f<round>.<i>"; 0 or -1. */
static int fast_batch(natsConnection *nc, const char *bucket, const char *value, uint32_t len, uint64_t n, int round,
                      uint64_t *elapsed_ns)
{
    fast_pub f = {.every = 1};
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    char inbox[64], sub_subject[80], subject[200], reply[200];
    snprintf(inbox, sizeof inbox, "_INBOX.kvwbench%ld_%d", (long)getpid(), round);
    snprintf(sub_subject, sizeof sub_subject, "%s.>", inbox);
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_Subscribe(&sub, nc, sub_subject, on_fast_reply, &f);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(sub, -1, -1);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    uint64_t t0 = now_ns();
    for (uint64_t i = 1; i <= n && s == NATS_OK; i++) {
        pthread_mutex_lock(&f.mu);
        /* ADR-50: wait for the first reply; then at most two acks' worth ahead. */
        while (!f.failed && i > 1 && (!f.started || i - 1 >= f.acked + 2 * f.every))
            pthread_cond_wait(&f.cv, &f.mu);
        int failed = f.failed;
        pthread_mutex_unlock(&f.mu);
        if (failed)
            break;
        int op = i == n ? 2 : i == 1 ? 0 : 1;
        snprintf(subject, sizeof subject, "$KV.%s.f%d.%" PRIu64, bucket, round, i);
        snprintf(reply, sizeof reply, "%s.fb%d.500.fail.%" PRIu64 ".%d.$FI", inbox, round, i, op);
        s = natsConnection_PublishRequest(nc, subject, reply, value, (int)len);
    }
    pthread_mutex_lock(&f.mu);
    while (s == NATS_OK && !f.failed && !f.committed)
        pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);
    *elapsed_ns += now_ns() - t0;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    int rc = s == NATS_OK && !f.failed ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "kvw: bench: bulk: the nats.c fast-ingest publisher failed: %s\n",
                s != NATS_OK ? natsStatus_GetText(s) : f.error);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
    return rc;
}

/* ---- kvw through a bulk handle */

typedef struct bulk_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t done, ok, exact;
    uint64_t failed;
    char first_error[200];
} bulk_run;

static void on_put(const kvw_result *r, void *user_data)
{
    bulk_run *run = user_data;
    pthread_mutex_lock(&run->mu);
    run->done++;
    if (r->status == KVW_OK) {
        run->ok++;
        run->exact += !kvw_version_is_unknown(&r->version);
    } else if (run->failed++ == 0) {
        snprintf(run->first_error, sizeof run->first_error, "%s: %s", kvw_err_name(r->status), r->message);
    }
    pthread_cond_signal(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

static int kvw_bulk_round(const bench_state *st, kvw_bucket *b, uint64_t n, int round, bulk_run *run,
                          uint64_t *elapsed_ns)
{
    char key[64];
    int rc = 0;
    pthread_mutex_lock(&run->mu);
    uint64_t target = run->done + n;
    pthread_mutex_unlock(&run->mu);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        snprintf(key, sizeof key, "b%d.%" PRIu64, round, i);
        while ((rc = kvw_put(b, key, st->value, st->cfg.value_size, on_put, run)) == KVW_EBUSY)
            sleep_us(20);
    }
    pthread_mutex_lock(&run->mu);
    while (rc == 0 && run->done < target)
        pthread_cond_wait(&run->cv, &run->mu);
    pthread_mutex_unlock(&run->mu);
    *elapsed_ns += now_ns() - t0;
    if (rc != 0)
        fprintf(stderr, "kvw: bench: bulk: kvw_put: %s\n", kvw_err_name(rc));
    return rc == 0 ? 0 : -1;
}

int bulk_bench(bench_state *st)
{
    const bench_config *c = &st->cfg;
    const int rounds = c->rounds;
    kvw_client_options co = KVW_CLIENT_OPTIONS_INIT;
    co.servers = c->server;
    co.op_timeout_ms = c->timeout_ms;
    co.max_inflight = c->window;
    kvw_client *client = NULL;
    kvw_bucket *b = NULL;
    int rc = kvw_client_open(&client, &co);
    char name[160];
    snprintf(name, sizeof name, "%s_bulk", st->bucket);
    kvw_bucket_options bo = KVW_BUCKET_OPTIONS_INIT;
    bo.create_if_missing = 1;
    bo.allow_batched = 1;
    bo.bulk = 1;
    bo.storage = (kvw_storage)c->storage;
    bo.replicas = c->replicas;
    if (rc == 0)
        rc = kvw_bucket_open(&b, client, name, &bo);
    if (rc != 0) {
        fprintf(stderr, "kvw: bench: bulk: cannot open a bulk handle: %s (fast-ingest batches need nats-server 2.14+)\n",
                kvw_err_name(rc));
        kvw_client_free(client);
        return -1;
    }
    double *raw_rate = calloc((size_t)rounds, sizeof(double));
    double *fast_rate = calloc((size_t)rounds, sizeof(double));
    double *kvw_rate = calloc((size_t)rounds, sizeof(double));
    bulk_run run;
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    phase raw = phase_init(st, PH_RAW, OP_PUT, "r", c->raw_ops, 1);
    raw.window = c->window;
    rc = raw_rate && fast_rate && kvw_rate ? setup_for(st, &raw) : -1;
    natsConnection *nc = st->conn[1].nc ? st->conn[1].nc : st->conn[0].nc;
    const uint64_t n = c->ops / (uint64_t)rounds;
    cpu_use fast_cpu = {0}, kvw_cpu = {0}; /* summed over the rounds */
    for (int r = 0; r < rounds && rc == 0; r++) {
        uint64_t before = raw.elapsed_ns, ok_before = raw.ok;
        rc = run_round(st, &raw, r, rounds);
        if (rc != 0)
            break;
        raw_rate[r] = (double)(raw.ok - ok_before) * 1e9 / (double)(raw.elapsed_ns - before);
        uint64_t fast_ns = 0, kvw_ns = 0, ok_before_kvw = run.ok;
        cpu_use c0 = cpu_now();
        rc = fast_batch(nc, name, st->value, c->value_size, n, r, &fast_ns);
        cpu_use c1 = cpu_now();
        if (rc == 0)
            rc = kvw_bulk_round(st, b, n, r, &run, &kvw_ns);
        cpu_use c2 = cpu_now();
        fast_cpu.cpu_ns += c1.cpu_ns - c0.cpu_ns;
        fast_cpu.server_cpu_ns += c1.server_cpu_ns - c0.server_cpu_ns;
        kvw_cpu.cpu_ns += c2.cpu_ns - c1.cpu_ns;
        kvw_cpu.server_cpu_ns += c2.server_cpu_ns - c1.server_cpu_ns;
        fast_rate[r] = (double)n * 1e9 / (double)fast_ns;
        kvw_rate[r] = (double)(run.ok - ok_before_kvw) * 1e9 / (double)kvw_ns;
    }
    if (rc == 0) {
        double vs_raw[rounds], vs_fast[rounds];
        for (int r = 0; r < rounds; r++) {
            vs_raw[r] = kvw_rate[r] / raw_rate[r];
            vs_fast[r] = kvw_rate[r] / fast_rate[r];
        }
        printf("kvw bench --mode bulk: %" PRIu64 " puts of %u bytes per round to fresh keys, %s storage, R%d, on %s; "
               "%d round(s)\n", n, c->value_size, c->storage == KVW_STORAGE_MEMORY ? "memory" : "file", c->replicas,
               c->server, rounds);
        /* CPU per put: this process, and the private server when it is ours. */
        const double puts = (double)n * rounds;
        printf("%-52s %12s %14s %14s\n", "", "puts/s", "client us/put", "server us/put");
        printf("%-52s %12.0f\n", "raw nats.c js_PublishMsgAsync (an ack per write)", median(raw_rate, rounds));
        char fast_server[32] = "-", kvw_server[32] = "-"; /* "-": the server is not this bench's */
        if (fast_cpu.server_cpu_ns > 0)
            snprintf(fast_server, sizeof fast_server, "%.2f", fast_cpu.server_cpu_ns / puts / 1e3);
        if (kvw_cpu.server_cpu_ns > 0)
            snprintf(kvw_server, sizeof kvw_server, "%.2f", kvw_cpu.server_cpu_ns / puts / 1e3);
        printf("%-52s %12.0f %14.2f %14s\n", "raw nats.c fast-ingest publisher (flow 500, 2 acks)",
               median(fast_rate, rounds), fast_cpu.cpu_ns / puts / 1e3, fast_server);
        printf("%-52s %12.0f %14.2f %14s\n", "kvw bulk handle (kvw_put, a callback per write)",
               median(kvw_rate, rounds), kvw_cpu.cpu_ns / puts / 1e3, kvw_server);
        printf("kvw bulk / raw js_PublishMsgAsync: %.2fx; kvw bulk / raw fast ingest: %.2fx "
               "(medians of the per-round ratios)\n", median(vs_raw, rounds), median(vs_fast, rounds));
        printf("kvw writes: %" PRIu64 " OK (%" PRIu64 " with an exact version), %" PRIu64 " failed%s%s\n", run.ok,
               run.exact, run.failed, run.failed ? ": " : "", run.first_error);
        if (run.failed)
            rc = -1;
    }
    pthread_mutex_destroy(&run.mu);
    pthread_cond_destroy(&run.cv);
    phase_free_workers(&raw);
    free(raw.versions);
    free(raw_rate);
    free(fast_rate);
    free(kvw_rate);
    kvw_bucket_free(b);
    kvw_client_free(client);
    return rc;
}
