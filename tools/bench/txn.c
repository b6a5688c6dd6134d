/*
 * kvw bench txn: transactions (kvw_txn_commit, atomic batches) of K puts
 * each, for each K of --txn-sizes, against the same server's ceiling for
 * single writes measured in the same run: raw nats.c js_PublishMsgAsync of
 * as many keys (the raw phase of the put benchmark). Rounds alternate the
 * raw phase and every size, so each sees the same load on a busy machine.
 *
 * Commits are asynchronous with at most --txn-window in flight (kvw keeps
 * 32 of them open on the server, the rest wait in kvw); every commit writes
 * K fresh keys, so no expectation can fail.
 */
#define _GNU_SOURCE

#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct txn_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t inflight;
    uint64_t ok, failed;
    char first_error[200];
    hist h;
} txn_run;

typedef struct txn_slot {
    txn_run *run;
    uint64_t t_submit;
} txn_slot;

static void on_commit(const kvw_result *r, void *user_data)
{
    txn_slot *s = user_data;
    txn_run *run = s->run;
    uint64_t t = now_ns();
    pthread_mutex_lock(&run->mu);
    hist_add(&run->h, t - s->t_submit);
    if (r->status == KVW_OK) {
        run->ok++;
    } else if (run->failed++ == 0) {
        snprintf(run->first_error, sizeof run->first_error, "%s: %s", kvw_err_name(r->status), r->message);
    }
    run->inflight--;
    pthread_cond_signal(&run->cv);
    pthread_mutex_unlock(&run->mu);
    free(s);
}

/* Commits `commits` transactions of `size` puts; keys "t<size>.<round>.<n>". */
static int run_size(bench_state *st, kvw_bucket *b, uint32_t size, uint64_t commits, int round, txn_run *run,
                    uint64_t *elapsed_ns)
{
    const bench_config *c = &st->cfg;
    kvw_txn *t = NULL;
    int rc = kvw_txn_new(&t, b);
    if (rc != 0) {
        fprintf(stderr, "kvw: bench: txn: %s: %s\n", kvw_err_name(rc), kvw_bucket_feature_status(b, KVW_FEATURE_ATOMIC_BATCH));
        return -1;
    }
    char key[64];
    uint64_t next = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < commits && rc == 0; i++) {
        for (uint32_t k = 0; k < size && rc == 0; k++) {
            snprintf(key, sizeof key, "t%u.%d.%" PRIu64, size, round, next++);
            rc = kvw_txn_put(t, key, st->value, c->value_size);
        }
        txn_slot *s = malloc(sizeof *s);
        if (!s || rc != 0) {
            free(s);
            rc = rc ? rc : KVW_ENOMEM;
            break;
        }
        s->run = run;
        pthread_mutex_lock(&run->mu);
        while (run->inflight >= c->txn_window)
            pthread_cond_wait(&run->cv, &run->mu);
        run->inflight++;
        pthread_mutex_unlock(&run->mu);
        s->t_submit = now_ns();
        while ((rc = kvw_txn_commit(t, on_commit, s)) == KVW_EBUSY)
            sleep_us(50);
        if (rc != 0) {
            pthread_mutex_lock(&run->mu);
            run->inflight--;
            pthread_mutex_unlock(&run->mu);
            free(s);
        }
    }
    pthread_mutex_lock(&run->mu);
    while (run->inflight > 0)
        pthread_cond_wait(&run->cv, &run->mu);
    pthread_mutex_unlock(&run->mu);
    *elapsed_ns += now_ns() - t0;
    kvw_txn_free(t);
    if (rc != 0)
        fprintf(stderr, "kvw: bench: txn of %u: %s\n", size, kvw_err_name(rc));
    return rc == 0 ? 0 : -1;
}

/* The server's own cost of a commit: `n` sequential one-message atomic
 * batches (each a request: Nats-Batch-Id, -Sequence 1, -Commit 1) straight
 * on nats.c, then `n` plain publish requests, to the same stream. Mean ms
 * of each into *commit_ms and *plain_ms. */
static int raw_commit_latency(natsConnection *nc, const char *bucket, const char *value, uint32_t len, int n,
                              double *commit_ms, double *plain_ms)
{
    char subject[200], id[64];
    for (int kind = 0; kind < 2; kind++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++) {
            snprintf(subject, sizeof subject, "$KV.%s.raw%d.%d", bucket, kind, i);
            natsMsg *m = NULL, *reply = NULL;
            natsStatus s = natsMsg_Create(&m, subject, NULL, value, (int)len);
            if (s == NATS_OK && kind == 0) {
                snprintf(id, sizeof id, "rawtxn%d.%ld", i, (long)getpid());
                s = natsMsgHeader_Set(m, "Nats-Batch-Id", id);
                if (s == NATS_OK)
                    s = natsMsgHeader_Set(m, "Nats-Batch-Sequence", "1");
                if (s == NATS_OK)
                    s = natsMsgHeader_Set(m, "Nats-Batch-Commit", "1");
            }
            if (s == NATS_OK)
                s = natsConnection_RequestMsg(&reply, nc, m, 5000);
            int refused = s == NATS_OK && natsMsg_GetDataLength(reply) > 0 &&
                          strstr(natsMsg_GetData(reply), "\"error\"") != NULL;
            natsMsg_Destroy(reply);
            natsMsg_Destroy(m);
            if (s != NATS_OK || refused) {
                fprintf(stderr, "kvw: bench: txn: raw %s failed: %s\n", kind ? "request" : "commit",
                        refused ? "refused by the server" : natsStatus_GetText(s));
                return -1;
            }
        }
        *(kind == 0 ? commit_ms : plain_ms) = (double)(now_ns() - t0) / 1e6 / n;
    }
    return 0;
}

int txn_bench(bench_state *st)
{
    const bench_config *c = &st->cfg;
    const int rounds = c->rounds;
    const int nsizes = c->ntxn_sizes;
    kvw_client_options co = KVW_CLIENT_OPTIONS_INIT;
    co.servers = c->server;
    co.op_timeout_ms = c->timeout_ms;
    co.max_inflight = c->window;
    kvw_client *client = NULL;
    kvw_bucket *b = NULL;
    int rc = kvw_client_open(&client, &co);
    char name[160];
    snprintf(name, sizeof name, "%s_txn", st->bucket);
    kvw_bucket_options bo = KVW_BUCKET_OPTIONS_INIT;
    bo.create_if_missing = 1;
    bo.allow_atomic = 1;
    bo.storage = (kvw_storage)c->storage;
    bo.replicas = c->replicas;
    if (rc == 0)
        rc = kvw_bucket_open(&b, client, name, &bo);
    if (rc != 0) {
        fprintf(stderr, "kvw: bench: txn: cannot open an atomic bucket: %s (transactions need nats-server 2.12+)\n",
                kvw_err_name(rc));
        kvw_client_free(client);
        return -1;
    }

    /* Per round: the raw ceiling (keys/s), then commits/s of every size. */
    double *raw_rate = calloc((size_t)rounds, sizeof(double));
    double *commit_rate = calloc((size_t)(rounds * nsizes), sizeof(double));
    double *ratio = calloc((size_t)(rounds * nsizes), sizeof(double));
    txn_run *runs = calloc((size_t)nsizes, sizeof(txn_run));
    phase raw = phase_init(st, PH_RAW, OP_PUT, "r", c->raw_ops, 1);
    raw.window = c->window;
    rc = raw_rate && commit_rate && ratio && runs ? setup_for(st, &raw) : -1;
    for (int i = 0; i < nsizes && runs; i++) {
        pthread_mutex_init(&runs[i].mu, NULL);
        pthread_cond_init(&runs[i].cv, NULL);
    }
    for (int r = 0; r < rounds && rc == 0; r++) {
        uint64_t before = raw.elapsed_ns, ok_before = raw.ok;
        rc = run_round(st, &raw, r, rounds);
        if (rc != 0)
            break;
        raw_rate[r] = (double)(raw.ok - ok_before) * 1e9 / (double)(raw.elapsed_ns - before);
        for (int i = 0; i < nsizes && rc == 0; i++) {
            uint32_t size = c->txn_sizes[i];
            /* About --ops keys per size and round, at least 20 commits. */
            uint64_t commits = c->ops / rounds / size;
            if (commits < 20)
                commits = 20;
            uint64_t elapsed = 0, ok_before_size = runs[i].ok;
            rc = run_size(st, b, size, commits, r, &runs[i], &elapsed);
            commit_rate[r * nsizes + i] = (double)(runs[i].ok - ok_before_size) * 1e9 / (double)elapsed;
            ratio[r * nsizes + i] = commit_rate[r * nsizes + i] * size / raw_rate[r];
        }
    }
    double commit_ms = 0, plain_ms = 0;
    if (rc == 0)
        rc = raw_commit_latency(st->conn[1].nc ? st->conn[1].nc : st->conn[0].nc, name, st->value, c->value_size,
                                200, &commit_ms, &plain_ms);
    if (rc == 0) {
        printf("kvw bench txn: transactions of K puts of %u bytes, %d in flight, on %s; %d round(s)\n",
               c->value_size, c->txn_window, c->server, rounds);
        printf("ceiling: raw nats.c js_PublishMsgAsync, window %u: %.0f keys/s (median)\n", c->window,
               median(raw_rate, rounds));
        printf("%8s %12s %12s %14s %12s %12s %s\n", "K", "commits/s", "keys/s", "keys/s / raw", "p50 ms",
               "p99 ms", "failed");
        double *cr = commit_rate, *rt = ratio; /* size i's rounds, gathered in place */
        for (int i = 0; i < nsizes; i++) {
            double col_c[rounds], col_r[rounds];
            for (int r = 0; r < rounds; r++) {
                col_c[r] = cr[r * nsizes + i];
                col_r[r] = rt[r * nsizes + i];
            }
            double m = median(col_c, rounds);
            printf("%8u %12.0f %12.0f %13.2fx %12.2f %12.2f %" PRIu64 "%s%s\n", c->txn_sizes[i], m,
                   m * c->txn_sizes[i], median(col_r, rounds), hist_quantile(&runs[i].h, 0.5) / 1e6,
                   hist_quantile(&runs[i].h, 0.99) / 1e6, runs[i].failed, runs[i].failed ? ": " : "",
                   runs[i].first_error);
            if (runs[i].failed)
                rc = -1;
        }
        printf("ratios: median of the per-round ratios of keys/s to the same round's raw ceiling\n");
        printf("the server alone (nats.c, one at a time, 200 each): a one-message atomic commit %.3f ms, "
               "a plain publish request %.3f ms\n", commit_ms, plain_ms);
    }
    for (int i = 0; i < nsizes && runs; i++) {
        pthread_mutex_destroy(&runs[i].mu);
        pthread_cond_destroy(&runs[i].cv);
    }
    phase_free_workers(&raw);
    free(raw.versions);
    free(raw_rate);
    free(commit_rate);
    free(ratio);
    free(runs);
    kvw_bucket_free(b);
    kvw_client_free(client);
    return rc;
}
