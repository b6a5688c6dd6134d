/*
 * bulk: bulk handles (kvw.h, BULK WRITES; fast-ingest batches of
 * nats-server 2.14+, ADR-50) on whatever server $NATS_SERVER_BIN is. Older
 * servers must refuse the options with KVW_ENOTSUP; the other cases then
 * skip. What a bulk handle stored is read back with nats.c's kvStore_* (a
 * client kvw did not write): every write with KVW_OK is there, every write
 * with a definite failure is not, also across a server kill.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvw/kvw.h>
#include <nats/nats.h>

#include "support/kvwtest.h"
#include "support/natsreader.h"

static ts_server *g_server;
static int g_version;

#define BATCHED_SERVER 21400

static int group_setup(void **state)
{
    (void)state;
    g_server = ts_server_spawn(NULL);
    if (!g_server) return -1;
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = ts_server_url(g_server);
    kvw_client *c = NULL;
    if (kvw_client_open(&c, &o) != 0) return -1;
    g_version = kvw_client_server_version(c);
    kvw_client_free(c);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ts_server_free(g_server);
    nats_Close();
    return 0;
}

static int setup(void **state)
{
    *state = kt_ctx_new(g_server);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    if (!ts_server_running(g_server)) ts_server_start(g_server);
    kt_ctx_free(*state);
    return 0;
}

static void skip_before_batched_server(void)
{
    if (g_version < BATCHED_SERVER) {
        print_message("[  SKIP    ] needs nats-server 2.14 or newer (this is %d.%d.%d)\n", g_version / 10000,
                      g_version / 100 % 100, g_version % 100);
        skip();
    }
}

static void bulk_options(kvw_bucket_options *bo, int64_t max_bytes)
{
    kvw_bucket_options_init(bo);
    bo->create_if_missing = 1;
    bo->allow_batched = 1;
    bo->bulk = 1;
    bo->max_bytes = max_bytes;
}

/* One callback's outcome per write, counted. */
typedef struct outcome {
    int status;
    uint64_t version;
    int calls;
    char message[160];
} outcome;

typedef struct tally {
    kt_waiter w;
    outcome *o;
    char first_error[256]; /* the first failure's name and message */
} tally;

typedef struct slot {
    tally *t;
    int i;
} slot;

static void tally_cb(const kvw_result *r, void *ud)
{
    slot *s = ud;
    pthread_mutex_lock(&s->t->w.mu);
    s->t->o[s->i].status = r->status;
    uint64_t v = 0;
    kvw_version_to_u64(&r->version, &v); /* unknown: 0 */
    s->t->o[s->i].version = v;
    s->t->o[s->i].calls++;
    snprintf(s->t->o[s->i].message, sizeof s->t->o[s->i].message, "%s", r->message);
    if (r->status != KVW_OK && s->t->first_error[0] == '\0')
        snprintf(s->t->first_error, sizeof s->t->first_error, "%s: %s", kvw_err_name(r->status), r->message);
    pthread_mutex_unlock(&s->t->w.mu);
    kt_waiter_signal(&s->t->w);
}

/* Submits, retrying while the in-flight window is full. */
static int submit_put(kvw_bucket *b, const char *key, const void *v, size_t n, slot *s)
{
    int rc;
    while ((rc = kvw_put(b, key, v, n, tally_cb, s)) == KVW_EBUSY) kt_sleep_ms(1);
    return rc;
}

static kvStore *nats_kv(kt_nats *n, const char *bucket)
{
    kvStore *kv = NULL;
    assert_int_equal(kt_nats_open(n, ts_server_url(g_server)), 0);
    assert_int_equal(js_KeyValue(&kv, n->js, bucket), NATS_OK);
    return kv;
}

/* Old servers: the options are refused before any write; new ones: a bulk
 * handle needs a bucket with allow_batched. */
static void test_refusals(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    assert_int_equal(kvw_client_open(&ctx->client, &o), 0);
    kvw_bucket_options bo;
    bulk_options(&bo, 0);
    char name[64];
    kt_unique_name(name, sizeof name, "bulkref");
    kvw_bucket *b = NULL;
    if (g_version < BATCHED_SERVER) {
        assert_int_equal(kvw_bucket_open(&b, ctx->client, name, &bo), KVW_ENOTSUP);
        assert_null(b);
        return;
    }
    bo.allow_batched = 0;  /* a plain bucket: no bulk handle on it */
    assert_int_equal(kvw_bucket_open(&b, ctx->client, name, &bo), KVW_ENOTSUP);
    bo.bulk = 0;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, name, &bo), 0);
    assert_int_equal(kvw_bucket_supports(b, KVW_FEATURE_FAST_BATCH), 0);
    kvw_bucket_free(b);
    bo.bulk = 2;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, name, &bo), KVW_EINVAL);
}

/* 20,000 puts, deletes and purges through one bulk handle: each callback
 * once, all OK, and nats.c reads exactly what was written; the last write's
 * version is exact. */
static void test_load_reads_back(void **state)
{
    skip_before_batched_server();
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    bulk_options(&bo, 0);
    kt_open(ctx, NULL, "bulk", &bo);
    enum { N = 20000 };
    tally t = {.o = calloc(N, sizeof(outcome))};
    slot *s = calloc(N, sizeof(slot));
    kt_waiter_init(&t.w);
    char key[32], val[64];
    for (int i = 0; i < N; i++) {
        s[i] = (slot){&t, i};
        snprintf(key, sizeof key, "k%d", i % 5000);
        int rc;
        if (i >= 15000 && i % 7 == 0) {
            while ((rc = kvw_delete(ctx->bucket, key, tally_cb, &s[i])) == KVW_EBUSY) kt_sleep_ms(1);
        } else if (i >= 15000 && i % 11 == 0) {
            while ((rc = kvw_purge(ctx->bucket, key, tally_cb, &s[i])) == KVW_EBUSY) kt_sleep_ms(1);
        } else {
            snprintf(val, sizeof val, "value-%d", i);
            rc = submit_put(ctx->bucket, key, val, strlen(val), &s[i]);
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(kt_waiter_wait(&t.w, N, 30000), 0);
    int exact = 0;
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(t.o[i].calls, 1);
        assert_int_equal(t.o[i].status, KVW_OK);
        exact += t.o[i].version != 0;
        if (t.o[i].version > last) last = t.o[i].version;
    }
    /* Per key, the latest write decides what nats.c sees. */
    kt_nats n;
    kvStore *kv = nats_kv(&n, ctx->bucket_name);
    for (int k = 0; k < 5000; k++) {
        int latest = 15000 + k;
        snprintf(key, sizeof key, "k%d", k);
        kvEntry *e = NULL;
        natsStatus st = kvStore_Get(&e, kv, key);
        if (latest % 7 == 0 || latest % 11 == 0) {
            assert_int_equal(st, NATS_NOT_FOUND);
        } else {
            assert_int_equal(st, NATS_OK);
            snprintf(val, sizeof val, "value-%d", latest);
            assert_int_equal(kvEntry_ValueLen(e), (int)strlen(val));
            assert_memory_equal(kvEntry_Value(e), val, strlen(val));
        }
        kvEntry_Destroy(e);
    }
    /* The stream holds exactly N records (purges keep only their marker). */
    kvStatus *stat = NULL;
    assert_int_equal(kvStore_Status(&stat, kv), NATS_OK);
    print_message("  %d writes, %d with an exact version, last version %llu, stream last %llu\n", N, exact,
                  (unsigned long long)last, (unsigned long long)kvStatus_Values(stat));
    kvStatus_Destroy(stat);
    assert_true(exact >= 1);
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    kt_waiter_destroy(&t.w);
    free(t.o);
    free(s);
}

/* A lone write is a batch of one: its version is exact and is nats.c's revision. */
static void test_lone_write_has_its_version(void **state)
{
    skip_before_batched_server();
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    bulk_options(&bo, 0);
    kt_open(ctx, NULL, "bulk1", &bo);
    kt_rec *r = kt_put_s(ctx, ctx->bucket, "one", "1");
    kt_assert_status(r, KVW_OK);
    r = kt_put_s(ctx, ctx->bucket, "one", "2");
    kt_assert_status(r, KVW_OK);
    kt_nats n;
    kvStore *kv = nats_kv(&n, ctx->bucket_name);
    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, kv, "one"), NATS_OK);
    const uint64_t put_rev = kvEntry_Revision(e);
    assert_int_equal(put_rev, kt_rev(r->version));
    assert_memory_equal(kvEntry_Value(e), "2", 1);
    kvEntry_Destroy(e);
    /* Blocking calls go through the lane too. */
    kvw_waiter *w = NULL;
    assert_int_equal(kvw_waiter_new(&w), 0);
    assert_int_equal(kvw_delete(ctx->bucket, "one", kvw_waiter_callback, w), 0);
    const kvw_result *res = NULL;
    assert_int_equal(kvw_waiter_wait(w, 10000, &res), 1);
    assert_int_equal(res->status, KVW_OK);
    assert_int_equal(kt_rev(res->version), put_rev + 1); /* alone: its version is exact too */
    kvw_waiter_free(w);
    assert_int_equal(kvStore_Get(&e, kv, "one"), NATS_NOT_FOUND);
    kvStore_Destroy(kv);
    kt_nats_close(&n);
}

/* The bucket fills up (max_bytes, discard new) during a load: writes the
 * server refuses fail with KVW_EFULL and are not stored, the writes it
 * skipped behind them are sent again, and every OK write is there. */
static void test_refused_writes_mid_batch(void **state)
{
    skip_before_batched_server();
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    bulk_options(&bo, 64 * 1024);
    kt_open(ctx, NULL, "bulkfull", &bo);
    enum { N = 3000 };
    tally t = {.o = calloc(N, sizeof(outcome))};
    slot *s = calloc(N, sizeof(slot));
    kt_waiter_init(&t.w);
    char key[32], val[100];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < N; i++) {
        s[i] = (slot){&t, i};
        snprintf(key, sizeof key, "f%d", i);
        assert_int_equal(submit_put(ctx->bucket, key, val, sizeof val, &s[i]), 0);
    }
    assert_int_equal(kt_waiter_wait(&t.w, N, 60000), 0);
    kt_nats n;
    kvStore *kv = nats_kv(&n, ctx->bucket_name);
    int ok = 0, full = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(t.o[i].calls, 1);
        snprintf(key, sizeof key, "f%d", i);
        kvEntry *e = NULL;
        natsStatus st = kvStore_Get(&e, kv, key);
        kvEntry_Destroy(e);
        if (t.o[i].status == KVW_OK) {
            ok++;
            assert_int_equal(st, NATS_OK);
        } else {
            /* EBUSY: nats-server 2.14-2.15 keep a batch whose last message
             * found the bucket full, and refuse new ones past 1,000. */
            if (t.o[i].status != KVW_EFULL && t.o[i].status != KVW_EBUSY)
                fail_msg("write %d: %s: %s", i, kvw_err_name(t.o[i].status), t.o[i].message);
            full++;
            assert_int_equal(st, NATS_NOT_FOUND);
        }
    }
    print_message("  %d writes: %d stored, %d refused (bucket full)\n", N, ok, full);
    assert_true(ok > 100);
    assert_true(full > 100);
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    kt_waiter_destroy(&t.w);
    free(t.o);
    free(s);
}

/* The server SIGKILLed during a load and restarted on the same store:
 * every write completes once; an OK one reads back; one with a definite
 * failure is absent; ETIMEDOUT ones may be either. */
static void test_server_kill_mid_batch(void **state)
{
    skip_before_batched_server();
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 3000;
    o.max_reconnect = -1;
    o.reconnect_wait_ms = 100;
    kvw_bucket_options bo;
    bulk_options(&bo, 0);
    kt_open(ctx, &o, "bulkkill", &bo);
    enum { N = 60000 };
    tally t = {.o = calloc(N, sizeof(outcome))};
    slot *s = calloc(N, sizeof(slot));
    kt_waiter_init(&t.w);
    char key[32], val[32];
    for (int i = 0; i < N; i++) {
        s[i] = (slot){&t, i};
        snprintf(key, sizeof key, "x%d", i);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(submit_put(ctx->bucket, key, val, strlen(val), &s[i]), 0);
        if (i == N / 3) assert_int_equal(ts_server_kill(g_server), 0);
        if (i == N / 2) assert_int_equal(ts_server_start(g_server), 0);
    }
    assert_int_equal(kt_waiter_wait(&t.w, N, 60000), 0);
    kt_nats n;
    kvStore *kv = nats_kv(&n, ctx->bucket_name);
    int counts[32] = {0}, unknown_stored = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(t.o[i].calls, 1);
        counts[-t.o[i].status]++;
        snprintf(key, sizeof key, "x%d", i);
        kvEntry *e = NULL;
        natsStatus st = kvStore_Get(&e, kv, key);
        assert_true(st == NATS_OK || st == NATS_NOT_FOUND);
        if (st == NATS_OK) {
            snprintf(val, sizeof val, "v%d", i);
            assert_memory_equal(kvEntry_Value(e), val, strlen(val));
        }
        kvEntry_Destroy(e);
        if (t.o[i].status == KVW_OK && st != NATS_OK) fail_msg("write %d: OK but not stored", i);
        if (t.o[i].status != KVW_OK && !kvw_err_outcome_unknown(t.o[i].status) && st == NATS_OK)
            fail_msg("write %d: %s but stored", i, kvw_err_name(t.o[i].status));
        unknown_stored += t.o[i].status == KVW_ETIMEDOUT && st == NATS_OK;
    }
    print_message("  %d writes: OK %d, ETIMEDOUT %d (%d of them stored), ENOTCONN %d, other %d\n", N, counts[0],
                  counts[-KVW_ETIMEDOUT], unknown_stored, counts[-KVW_ENOTCONN],
                  N - counts[0] - counts[-KVW_ETIMEDOUT] - counts[-KVW_ENOTCONN]);
    assert_true(counts[0] > N / 3);
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    kt_waiter_destroy(&t.w);
    free(t.o);
    free(s);
}

/* Writes on one key keep their order; a close with writes pending ends
 * each exactly once. */
static void test_order_and_close(void **state)
{
    skip_before_batched_server();
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    bulk_options(&bo, 0);
    kt_open(ctx, NULL, "bulkord", &bo);
    enum { N = 5000 };
    tally t = {.o = calloc(2 * N, sizeof(outcome))};
    slot *s = calloc(2 * N, sizeof(slot));
    kt_waiter_init(&t.w);
    char val[32];
    for (int i = 0; i < N; i++) {
        s[i] = (slot){&t, i};
        snprintf(val, sizeof val, "%d", i);
        assert_int_equal(submit_put(ctx->bucket, "same", val, strlen(val), &s[i]), 0);
    }
    assert_int_equal(kt_waiter_wait(&t.w, N, 30000), 0);
    kt_nats n;
    kvStore *kv = nats_kv(&n, ctx->bucket_name);
    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, kv, "same"), NATS_OK);
    snprintf(val, sizeof val, "%d", N - 1);
    assert_int_equal(kvEntry_ValueLen(e), (int)strlen(val));
    assert_memory_equal(kvEntry_Value(e), val, strlen(val));
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    for (int i = N; i < 2 * N; i++) {
        s[i] = (slot){&t, i};
        assert_int_equal(submit_put(ctx->bucket, "late", "v", 1, &s[i]), 0);
    }
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_wait(&t.w, 2 * N, 10000), 0);
    int closed = 0;
    for (int i = N; i < 2 * N; i++) {
        assert_int_equal(t.o[i].calls, 1);
        if (t.o[i].status != KVW_OK && t.o[i].status != KVW_ECLOSED)
            fail_msg("write %d: %s: %s", i, kvw_err_name(t.o[i].status), t.o[i].message);
        closed += t.o[i].status == KVW_ECLOSED;
    }
    print_message("  close with %d writes submitted: %d ended KVW_ECLOSED\n", N, closed);
    kt_waiter_destroy(&t.w);
    free(t.o);
    free(s);
}

int main(void)
{
    kt_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_write_has_its_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_writes_mid_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_kill_mid_batch, setup, teardown),
    };
    return cmocka_run_group_tests_name("bulk", tests, group_setup, group_teardown);
}
