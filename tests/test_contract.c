/*
 * contract: the completion contract (DESIGN.md section 2, kvw.h "THE
 * COMPLETION CONTRACT" / "THREADS"): exactly one callback per accepted op,
 * close and free (also from inside callbacks), the three delivery modes,
 * back-pressure, deadlines, reconnects.
 */
#define _GNU_SOURCE
#include <poll.h>
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
#include <uv.h>

#include <kvw/kvw_uv.h>

#include "support/kvwtest.h"
#include "support/natsreader.h"

static ts_server *g_server;

static int group_setup(void **state)
{
    (void)state;
    g_server = ts_server_spawn(NULL);
    return g_server ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ts_server_free(g_server);
    return 0;
}

static int setup(void **state)
{
    *state = kt_ctx_new(g_server);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    /* A test that failed while the server was paused must not leave it paused. */
    if (ts_server_running(g_server))
        ts_server_resume(g_server);
    else
        ts_server_start(g_server);
    kt_ctx_free(*state);
    return 0;
}

/* ------------------------------------------------------------ batches */

enum action {
    ACT_NONE,
    ACT_CLOSE_ONCE,       /* first callback: kvw_client_close */
    ACT_FREE_CLIENT_ONCE, /* first callback: kvw_client_free */
    ACT_FREE_BUCKET_ONCE, /* first callback: kvw_bucket_free */
    ACT_CLOSE_AT_TOTAL,   /* callback that makes total == close_at: kvw_client_close */
    ACT_CHAIN             /* each callback submits the next put, until chain_len */
};

typedef struct batch batch;

typedef struct slot {
    batch *b;
    int idx;
    int calls; /* atomic */
    int status;
    kvw_op op;
    uint64_t rev;
    int inflight_in_cb;
    pthread_t thread;
} slot;

struct batch {
    kt_waiter total;
    slot *slots;
    int n;
    kvw_client *client;
    kvw_bucket *bucket;
    enum action action;
    int action_done; /* atomic */
    int action_rc;
    int close_at;
    int chain_len;
    int chain_next;      /* only touched by callbacks (one at a time) */
    int chain_submit_rc; /* first non-zero submit rc inside a callback */
    int sample_inflight;
};

static batch *batch_new(kt_ctx *ctx, int n)
{
    batch *b = kt_alloc(ctx, sizeof *b);
    kt_waiter_init(&b->total);
    b->slots = kt_alloc(ctx, sizeof(slot) * (size_t)n);
    b->n = n;
    b->client = ctx->client;
    b->bucket = ctx->bucket;
    for (int i = 0; i < n; i++) {
        b->slots[i].b = b;
        b->slots[i].idx = i;
    }
    return b;
}

static void slot_cb(const kvw_result *r, void *ud);

static int submit_chain_next(batch *b)
{
    int i = b->chain_next;
    if (i >= b->chain_len)
        return 0;
    b->chain_next++;
    char val[32];
    snprintf(val, sizeof val, "c%d", i);
    return kvw_put(b->bucket, "chain", val, strlen(val), slot_cb, &b->slots[i]);
}

static void slot_cb(const kvw_result *r, void *ud)
{
    slot *s = ud;
    batch *b = s->b;
    s->status = r->status;
    s->op = r->op;
    s->rev = 0;
    if (r->status == KVW_OK && r->op != KVW_OP_GET && r->op != KVW_OP_GET_ENTRY)
        kvw_version_to_u64(&r->version, &s->rev);
    s->thread = pthread_self();
    if (b->sample_inflight)
        s->inflight_in_cb = kvw_client_inflight(b->client);
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);

    switch (b->action) {
    case ACT_CLOSE_ONCE:
        if (__atomic_exchange_n(&b->action_done, 1, __ATOMIC_SEQ_CST) == 0)
            b->action_rc = kvw_client_close(b->client);
        break;
    case ACT_FREE_CLIENT_ONCE:
        if (__atomic_exchange_n(&b->action_done, 1, __ATOMIC_SEQ_CST) == 0)
            kvw_client_free(b->client);
        break;
    case ACT_FREE_BUCKET_ONCE:
        if (__atomic_exchange_n(&b->action_done, 1, __ATOMIC_SEQ_CST) == 0)
            kvw_bucket_free(b->bucket);
        break;
    case ACT_CLOSE_AT_TOTAL:
        if (kt_waiter_count(&b->total) + 1 == b->close_at &&
            __atomic_exchange_n(&b->action_done, 1, __ATOMIC_SEQ_CST) == 0)
            b->action_rc = kvw_client_close(b->client);
        break;
    case ACT_CHAIN: {
        int rc = submit_chain_next(b);
        if (rc != 0 && b->chain_submit_rc == 0)
            b->chain_submit_rc = rc;
        break;
    }
    case ACT_NONE:
        break;
    }
    kt_waiter_signal(&b->total);
}

static int slot_calls(const slot *s) { return __atomic_load_n(&s->calls, __ATOMIC_SEQ_CST); }

static void wait_total(batch *b, long n)
{
    if (kt_waiter_wait(&b->total, n, KT_TIMEOUT_MS) != 0) {
        print_error("only %ld of %ld callbacks within %d ms\n", kt_waiter_count(&b->total), n,
                    KT_TIMEOUT_MS);
        fail();
    }
}

/* Every slot in [0, n) ran exactly once. */
static void assert_each_once(batch *b, int n)
{
    for (int i = 0; i < n; i++) {
        if (slot_calls(&b->slots[i]) != 1)
            print_error("op %d: %d callbacks\n", i, slot_calls(&b->slots[i]));
        assert_int_equal(slot_calls(&b->slots[i]), 1);
    }
}

static void assert_status_in(const slot *s, const int *ok, int nok)
{
    for (int i = 0; i < nok; i++)
        if (s->status == ok[i])
            return;
    print_error("op %d (%s): unexpected status %s\n", s->idx, kvw_op_name(s->op),
                kvw_err_name(s->status));
    fail();
}

/* kvw_client_inflight counts an op until its callback *returns*, which is a
 * moment after the callback signalled us: poll briefly (no event to wait on). */
static void wait_inflight_zero(kvw_client *c)
{
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (kvw_client_inflight(c) != 0) {
        if (kt_now_ms() > dl) {
            print_error("kvw_client_inflight stuck at %d\n", kvw_client_inflight(c));
            fail();
        }
        kt_sleep_ms(1);
    }
}

static int put_slot(batch *b, const char *key, const char *val, int i)
{
    return kvw_put(b->bucket, key, val, strlen(val), slot_cb, &b->slots[i]);
}

/* ------------------------------------------------------- exactly once */

typedef struct submitter {
    batch *b;
    int first, count;
    char key[32];
    int bad_rc;
} submitter;

static void *submit_main(void *p)
{
    submitter *s = p;
    for (int i = 0; i < s->count; i++) {
        char val[32];
        snprintf(val, sizeof val, "v%d", i);
        int rc = put_slot(s->b, s->key, val, s->first + i);
        if (rc != 0 && s->bad_rc == 0)
            s->bad_rc = rc;
    }
    return NULL;
}

static void test_ops_from_threads_exactly_once(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "mt", NULL);
    enum { THREADS = 4, PER = 250, N = THREADS * PER };
    batch *b = batch_new(ctx, N);
    submitter sub[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        sub[t] = (submitter){b, t * PER, PER, "", 0};
        snprintf(sub[t].key, sizeof sub[t].key, "thread%d", t);
        assert_int_equal(pthread_create(&th[t], NULL, submit_main, &sub[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(sub[t].bad_rc, 0);

    wait_total(b, N);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++) {
        static const int ok[] = {KVW_OK};
        assert_status_in(&b->slots[i], ok, 1);
    }
    /* Same key, same submitting thread: stored in submission order. */
    for (int t = 0; t < THREADS; t++)
        for (int i = 1; i < PER; i++)
            assert_true(b->slots[t * PER + i].rev > b->slots[t * PER + i - 1].rev);
    for (int t = 0; t < THREADS; t++) {
        kt_rec *g = kt_get(ctx, ctx->bucket, sub[t].key);
        kt_assert_status(g, KVW_OK);
        char want[32];
        snprintf(want, sizeof want, "v%d", PER - 1);
        assert_string_equal((const char *)g->value, want);
    }

    /* Nothing runs twice, not even at close. */
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_count(&b->total), N);
    assert_each_once(b, N);
}

static void test_same_key_order_mixed_ops(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "order", NULL);
    enum { N = 200 };
    batch *b = batch_new(ctx, N);
    for (int i = 0; i < N; i++) {
        int rc;
        if (i % 10 == 5) {
            rc = kvw_delete(b->bucket, "k", slot_cb, &b->slots[i]);
        } else {
            char val[16];
            snprintf(val, sizeof val, "%d", i);
            rc = put_slot(b, "k", val, i);
        }
        assert_int_equal(rc, 0);
    }
    wait_total(b, N);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(b->slots[i].status, KVW_OK);
        if (i)
            assert_true(b->slots[i].rev > b->slots[i - 1].rev);
    }
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_string_equal((const char *)g->value, "199");
    assert_int_equal(kt_rev(g->version), b->slots[N - 1].rev);
}

/* kvw.h: "Ops on the same key submitted from one thread reach the server in
 * submission order" -- also when one of them is a create that has to CAS over
 * a DEL marker: the outcome must be that of running them one after another. */
static void test_same_key_order_create_over_marker(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "ordercreate", NULL);
    enum { KEYS = 5 };
    batch *b = batch_new(ctx, 3 * KEYS);
    for (int k = 0; k < KEYS; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        kt_assert_status(kt_put_s(ctx, ctx->bucket, key, "old"), KVW_OK);
        slot *s = &b->slots[3 * k];
        assert_int_equal(kvw_delete(b->bucket, key, slot_cb, &s[0]), 0);
        assert_int_equal(kvw_create(b->bucket, key, "created", 7, slot_cb, &s[1]), 0);
        assert_int_equal(kvw_put(b->bucket, key, "put", 3, slot_cb, &s[2]), 0);
    }
    wait_total(b, 3 * KEYS);
    assert_each_once(b, 3 * KEYS);
    for (int k = 0; k < KEYS; k++) {
        slot *s = &b->slots[3 * k];
        for (int i = 0; i < 3; i++) {
            if (s[i].status != KVW_OK)
                print_error("k%d: delete, create, put submitted in order; %s got %s\n", k,
                            kvw_op_name(s[i].op), kvw_err_name(s[i].status));
            assert_int_equal(s[i].status, KVW_OK);
        }
        assert_true(s[0].rev < s[1].rev);
        assert_true(s[1].rev < s[2].rev);
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        kt_rec *g = kt_get(ctx, ctx->bucket, key);
        kt_assert_status(g, KVW_OK);
        assert_string_equal((const char *)g->value, "put");
    }
}

/* ------------------------------------------------------------- close */

static void test_close_with_ops_in_flight(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "closeinflight", NULL);
    enum { N = 2000 };
    batch *b = batch_new(ctx, N);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 50);
        int rc = (i % 7 == 3) ? kvw_get(b->bucket, key, slot_cb, &b->slots[i])
                              : put_slot(b, key, "value", i);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(kvw_client_close(ctx->client), 0);
    /* THREAD mode: close returns after every cancelled callback ran. */
    assert_int_equal(kt_waiter_count(&b->total), N);
    assert_each_once(b, N);
    int cancelled = 0;
    for (int i = 0; i < N; i++) {
        static const int wok[] = {KVW_OK, KVW_ECLOSED};
        static const int rok[] = {KVW_OK, KVW_ENOTFOUND, KVW_ECLOSED};
        if (b->slots[i].op == KVW_OP_GET)
            assert_status_in(&b->slots[i], rok, 3);
        else
            assert_status_in(&b->slots[i], wok, 2);
        cancelled += b->slots[i].status == KVW_ECLOSED;
    }
    print_message("close with %d ops submitted: %d cancelled\n", N, cancelled);
    assert_int_equal(kvw_client_inflight(ctx->client), 0);

    /* Closed: everything refuses at once, nothing runs later. */
    kt_rec *r = kt_rec_new(ctx);
    assert_int_equal(kvw_put(ctx->bucket, "k", "v", 1, kt_rec_cb, r), KVW_ECLOSED);
    assert_int_equal(kvw_get(ctx->bucket, "k", kt_rec_cb, r), KVW_ECLOSED);
    kvw_bucket *b2 = (kvw_bucket *)0x1;
    assert_int_equal(kvw_bucket_open(&b2, ctx->client, "other", NULL), KVW_ECLOSED);
    assert_null(b2);
    assert_int_equal(kvw_client_close(ctx->client), 0); /* idempotent */
    kvw_client_free(ctx->client);
    ctx->client = NULL;
    assert_int_equal(kt_rec_calls(r), 0);
    assert_int_equal(kt_waiter_count(&b->total), N);
}

static void test_close_cancels_unacked_ops_without_waiting(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 8000;
    kt_open(ctx, &o, "closepaused", NULL);
    enum { N = 100 };
    batch *b = batch_new(ctx, N);
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    int64_t t0 = kt_now_ms();
    assert_int_equal(kvw_client_close(ctx->client), 0);
    int64_t took = kt_now_ms() - t0;
    assert_int_equal(ts_server_resume(g_server), 0);
    print_message("close took %lld ms\n", (long long)took);
    assert_int_equal(kt_waiter_count(&b->total), N);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(b->slots[i].status, KVW_ECLOSED);
    assert_true(kvw_err_outcome_unknown(KVW_ECLOSED));
    /* "Does not wait for the server": far less than the op deadline. */
    assert_true(took < 4000);
}

static void test_close_from_callback(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "closecb", NULL);
    enum { N = 300 };
    batch *b = batch_new(ctx, N);
    b->action = ACT_CLOSE_ONCE;
    /* No ack (so no callback closing or freeing a handle) before all N are
     * submitted: the loop must not race the first callback. */
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    assert_int_equal(ts_server_resume(g_server), 0);
    wait_total(b, N); /* no deadlock */
    assert_int_equal(b->action_rc, 0);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++) {
        static const int ok[] = {KVW_OK, KVW_ECLOSED};
        assert_status_in(&b->slots[i], ok, 2);
    }
    /* The deferred close took effect. */
    kt_rec *r = kt_rec_new(ctx);
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    int rc;
    while ((rc = kvw_put(ctx->bucket, "k", "v", 1, kt_rec_cb, r)) == 0 && kt_now_ms() < dl) {
        /* accepted before the close took effect: it must still complete once */
        assert_int_equal(kt_rec_wait(r), 0);
        r = kt_rec_new(ctx);
    }
    assert_int_equal(rc, KVW_ECLOSED);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_count(&b->total), N);
}

static void test_free_client_from_callback(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "freecb", NULL);
    enum { N = 100 };
    batch *b = batch_new(ctx, N);
    b->action = ACT_FREE_CLIENT_ONCE;
    ctx->client = NULL; /* the callback owns it now */
    /* No ack (so no callback closing or freeing a handle) before all N are
     * submitted: the loop must not race the first callback. */
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    assert_int_equal(ts_server_resume(g_server), 0);
    wait_total(b, N);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++) {
        static const int ok[] = {KVW_OK, KVW_ECLOSED};
        assert_status_in(&b->slots[i], ok, 2);
    }
    /* The bucket stays a valid handle until freed (teardown), refusing ops. */
    kt_rec *r = kt_rec_new(ctx);
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    int rc;
    while ((rc = kvw_put(ctx->bucket, "k", "v", 1, kt_rec_cb, r)) == 0 && kt_now_ms() < dl) {
        assert_int_equal(kt_rec_wait(r), 0);
        r = kt_rec_new(ctx);
    }
    assert_int_equal(rc, KVW_ECLOSED);
}

static void test_free_bucket_from_callback(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "freebcb", NULL);
    enum { N = 100 };
    batch *b = batch_new(ctx, N);
    b->action = ACT_FREE_BUCKET_ONCE;
    ctx->bucket = NULL; /* the callback owns it now */
    /* No ack (so no callback closing or freeing a handle) before all N are
     * submitted: the loop must not race the first callback. */
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    assert_int_equal(ts_server_resume(g_server), 0);
    wait_total(b, N);
    assert_each_once(b, N);
    /* "Pending ops still complete" (normally). */
    for (int i = 0; i < N; i++)
        assert_int_equal(b->slots[i].status, KVW_OK);
    /* The client is fine. */
    kvw_bucket *other = NULL;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    char name[64];
    kt_unique_name(name, sizeof name, "after");
    assert_int_equal(kvw_bucket_open(&other, ctx->client, name, &bo), 0);
    ctx->bucket = other;
    kt_assert_status(kt_put_s(ctx, other, "k", "v"), KVW_OK);
}

static void test_bucket_close(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "bclose", NULL);
    enum { N = 50 };
    batch *b = batch_new(ctx, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    assert_int_equal(kvw_bucket_close(ctx->bucket), 0);
    kt_rec *r = kt_rec_new(ctx);
    assert_int_equal(kvw_put(ctx->bucket, "k", "v", 1, kt_rec_cb, r), KVW_ECLOSED);
    assert_int_equal(kvw_get_entry(ctx->bucket, "k", kt_rec_cb, r), KVW_ECLOSED);
    wait_total(b, N);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(b->slots[i].status, KVW_OK);
    assert_int_equal(kt_rec_calls(r), 0);
    /* The same bucket opened again through the same client works. */
    kvw_bucket *again = NULL;
    assert_int_equal(kvw_bucket_open(&again, ctx->client, ctx->bucket_name, NULL), 0);
    kt_rec *g = kt_get(ctx, again, "k");
    kt_assert_status(g, KVW_OK);
    kvw_bucket_free(again);
}

typedef struct racer {
    kvw_bucket *bucket;
    slot *slots;
    int max;
    int accepted;
    int bad_rc;
    batch *b;
} racer;

static void *race_submit(void *p)
{
    racer *r = p;
    while (r->accepted < r->max) {
        int rc = kvw_put(r->bucket, "race", "v", 1, slot_cb, &r->slots[r->accepted]);
        if (rc == 0)
            r->accepted++;
        else if (rc == KVW_ECLOSED)
            break;
        else if (rc != KVW_EBUSY) {
            r->bad_rc = rc;
            break;
        }
    }
    return NULL;
}

static void test_close_races_with_submitters(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "closerace", NULL);
    enum { THREADS = 4, MAX = 5000 };
    batch *b = batch_new(ctx, THREADS * MAX);
    racer rc[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        rc[t] = (racer){ctx->bucket, b->slots + t * MAX, MAX, 0, 0, b};
        assert_int_equal(pthread_create(&th[t], NULL, race_submit, &rc[t]), 0);
    }
    wait_total(b, 200);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    long accepted = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(rc[t].bad_rc, 0);
        accepted += rc[t].accepted;
    }
    wait_total(b, accepted);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < MAX; i++) {
            const slot *s = &rc[t].slots[i];
            assert_int_equal(slot_calls(s), i < rc[t].accepted ? 1 : 0);
            if (i < rc[t].accepted) {
                static const int ok[] = {KVW_OK, KVW_ECLOSED};
                assert_status_in(s, ok, 2);
            }
        }
    }
    assert_int_equal(kt_waiter_count(&b->total), accepted);
    print_message("%ld ops accepted before the close\n", accepted);
}

/* ------------------------------------------------------- delivery modes */

typedef struct thread_submit {
    batch *b;
    int first, count;
    pthread_t self;
    int bad_rc;
} thread_submit;

static void *thread_submit_main(void *p)
{
    thread_submit *s = p;
    s->self = pthread_self();
    for (int i = 0; i < s->count; i++) {
        int rc = (i % 2) ? put_slot(s->b, "k", "v", s->first + i)
                         : kvw_get(s->b->bucket, "k", slot_cb, &s->b->slots[s->first + i]);
        if (rc != 0 && !s->bad_rc)
            s->bad_rc = rc;
    }
    return NULL;
}

static void test_thread_mode_delivery_thread(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "tmode", NULL);
    assert_int_equal(kvw_client_fd(ctx->client), KVW_EINVAL);
    assert_int_equal(kvw_client_poll(ctx->client, 0), KVW_EINVAL);
    enum { HALF = 40, N = 2 * HALF };
    batch *b = batch_new(ctx, N);
    thread_submit other = {b, HALF, HALF, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, thread_submit_main, &other), 0);
    for (int i = 0; i < HALF; i++) {
        int rc = (i % 2) ? put_slot(b, "k", "v", i) : kvw_get(b->bucket, "k", slot_cb, &b->slots[i]);
        assert_int_equal(rc, 0);
    }
    pthread_join(th, NULL);
    assert_int_equal(other.bad_rc, 0);
    wait_total(b, N);
    assert_each_once(b, N);
    pthread_t me = pthread_self();
    pthread_t delivery = b->slots[0].thread;
    for (int i = 0; i < N; i++) {
        assert_false(pthread_equal(b->slots[i].thread, me));
        assert_false(pthread_equal(b->slots[i].thread, other.self));
        assert_true(pthread_equal(b->slots[i].thread, delivery));
    }
}

typedef struct gate {
    kt_waiter entered;
    kt_waiter open;
} gate;

static void gate_hook(kt_rec *r, const kvw_result *res)
{
    (void)res;
    gate *g = r->hook_data;
    kt_waiter_signal(&g->entered);
    kt_waiter_wait(&g->open, 1, KT_TIMEOUT_MS);
}

static void test_slow_callback_does_not_time_out_acked_ops(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 1000;
    kt_open(ctx, &o, "slowcb", NULL);
    gate *g = kt_alloc(ctx, sizeof *g);
    kt_waiter_init(&g->entered);
    kt_waiter_init(&g->open);
    kt_rec *a = kt_rec_new(ctx);
    a->hook = gate_hook;
    a->hook_data = g;
    assert_int_equal(kvw_put(ctx->bucket, "a", "1", 1, kt_rec_cb, a), 0);
    assert_int_equal(kt_waiter_wait(&g->entered, 1, KT_TIMEOUT_MS), 0);
    /* A's callback is blocked; B is sent and acked meanwhile. */
    kt_rec *bb = kt_rec_new(ctx);
    assert_int_equal(kvw_put(ctx->bucket, "b", "2", 1, kt_rec_cb, bb), 0);
    kt_sleep_ms(2500); /* the scenario itself: a callback slower than B's deadline */
    int b_calls_while_blocked = kt_rec_calls(bb);
    kt_waiter_signal(&g->open);
    assert_int_equal(b_calls_while_blocked, 0); /* one callback at a time */
    assert_int_equal(kt_rec_wait(bb), 0);
    kt_assert_status(a, KVW_OK);
    kt_assert_status(bb, KVW_OK);
}

static void test_poll_mode(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.delivery = KVW_DELIVERY_POLL;
    kt_open(ctx, &o, "pmode", NULL);
    int fd = kvw_client_fd(ctx->client);
    assert_true(fd >= 0);
    assert_int_equal(kvw_client_fd(ctx->client), fd); /* stable */

    enum { N = 21 };
    batch *b = batch_new(ctx, N);
    b->sample_inflight = 1;
    for (int i = 0; i < N - 1; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    assert_int_equal(kvw_get(b->bucket, "k", slot_cb, &b->slots[N - 1]), 0);
    assert_int_equal(kvw_client_inflight(ctx->client), N);
    assert_int_equal(kt_waiter_count(&b->total), 0); /* nothing runs outside poll */

    int delivered = 0;
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (delivered < N && kt_now_ms() < dl) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(dl - kt_now_ms()));
        assert_true(pr >= 0);
        if (pr == 0)
            break;
        assert_true(pfd.revents & POLLIN);
        int ran = kvw_client_poll(ctx->client, 0);
        assert_true(ran >= 0);
        delivered += ran;
        assert_int_equal(kt_waiter_count(&b->total), delivered);
    }
    assert_int_equal(delivered, N);
    assert_each_once(b, N);
    pthread_t me = pthread_self();
    for (int i = 0; i < N; i++) {
        assert_true(pthread_equal(b->slots[i].thread, me));
        /* The get ran concurrently with the puts: servers 2.10+ store
         * writes asynchronously, so it may not see them (kvw.h, THREADS). */
        if (i == N - 1 && b->slots[i].status == KVW_ENOTFOUND) continue;
        assert_int_equal(b->slots[i].status, KVW_OK);
        assert_true(b->slots[i].inflight_in_cb >= 1);
    }
    assert_int_equal(kvw_client_inflight(ctx->client), 0);
    /* Drained: the fd is no longer readable, poll runs nothing. */
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    assert_int_equal(kvw_client_poll(ctx->client, 0), 0);
    assert_int_equal(kvw_client_poll(ctx->client, 20), 0);

    /* A blocking poll returns as soon as a completion arrives. */
    kt_rec *r = kt_rec_new(ctx);
    assert_int_equal(kvw_put(ctx->bucket, "k", "w", 1, kt_rec_cb, r), 0);
    int64_t t0 = kt_now_ms();
    int ran = 0;
    while (ran == 0 && kt_now_ms() - t0 < KT_TIMEOUT_MS)
        ran = kvw_client_poll(ctx->client, KT_TIMEOUT_MS);
    assert_int_equal(ran, 1);
    assert_true(kt_now_ms() - t0 < 5000);
    assert_int_equal(kt_rec_calls(r), 1);
    kt_assert_status(r, KVW_OK);
    assert_true(pthread_equal(r->thread, me));

    /* Close: the cancelled ops' callbacks run inside close, on this thread. */
    enum { M = 10 };
    batch *c = batch_new(ctx, M);
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < M; i++)
        assert_int_equal(put_slot(c, "k", "x", i), 0);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(ts_server_resume(g_server), 0);
    assert_int_equal(kt_waiter_count(&c->total), M);
    assert_each_once(c, M);
    for (int i = 0; i < M; i++) {
        assert_int_equal(c->slots[i].status, KVW_ECLOSED);
        assert_true(pthread_equal(c->slots[i].thread, me));
    }
    assert_int_equal(kvw_client_poll(ctx->client, 0), KVW_ECLOSED);
    assert_int_equal(kvw_client_poll(ctx->client, 100), KVW_ECLOSED);
}

static void test_poll_mode_callbacks_submit(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.delivery = KVW_DELIVERY_POLL;
    kt_open(ctx, &o, "pchain", NULL);
    enum { N = 30 };
    batch *b = batch_new(ctx, N);
    b->action = ACT_CHAIN;
    b->chain_len = N;
    assert_int_equal(submit_chain_next(b), 0);
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (kt_waiter_count(&b->total) < N && kt_now_ms() < dl) {
        int ran = kvw_client_poll(ctx->client, 1000);
        assert_true(ran >= 0);
    }
    assert_int_equal(b->chain_submit_rc, 0);
    assert_int_equal(kt_waiter_count(&b->total), N);
    assert_each_once(b, N);
    for (int i = 1; i < N; i++)
        assert_true(b->slots[i].rev > b->slots[i - 1].rev);
}

static void test_callbacks_may_submit(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "chain", NULL);
    enum { N = 50 };
    batch *b = batch_new(ctx, N);
    b->action = ACT_CHAIN;
    b->chain_len = N;
    assert_int_equal(submit_chain_next(b), 0);
    wait_total(b, N);
    assert_int_equal(b->chain_submit_rc, 0);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(b->slots[i].status, KVW_OK);
    for (int i = 1; i < N; i++)
        assert_true(b->slots[i].rev > b->slots[i - 1].rev);
    kt_rec *g = kt_get(ctx, ctx->bucket, "chain");
    kt_assert_status(g, KVW_OK);
    char want[16];
    snprintf(want, sizeof want, "c%d", N - 1);
    assert_string_equal((const char *)g->value, want);
}

/* ------------------------------------------------------------ libuv */

typedef struct uv_watch {
    int fired;
} uv_watch;

static void watchdog_cb(uv_timer_t *t)
{
    uv_watch *w = t->data;
    w->fired = 1;
    uv_stop(t->loop);
}

static uv_timer_t *start_watchdog(kt_ctx *ctx, uv_loop_t *loop, uv_watch *w)
{
    uv_timer_t *t = kt_alloc(ctx, sizeof *t);
    assert_int_equal(uv_timer_init(loop, t), 0);
    t->data = w;
    assert_int_equal(uv_timer_start(t, watchdog_cb, KT_TIMEOUT_MS, 0), 0);
    uv_unref((uv_handle_t *)t); /* does not keep the loop alive by itself */
    return t;
}

/* After kvw's handle is gone only our (closed) timers remain: the loop ends. */
static void finish_loop(uv_loop_t *loop, uv_timer_t *wd)
{
    uv_close((uv_handle_t *)wd, NULL);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_libuv_mode(void **state)
{
    kt_ctx *ctx = *state;
    uv_loop_t *loop = kt_alloc(ctx, sizeof *loop);
    assert_int_equal(uv_loop_init(loop), 0);
    kvw_client_options o;
    kt_client_options(ctx, &o);
    kvw_client_options_use_uv(&o, loop);
    kt_open(ctx, &o, "uvmode", NULL); /* on the loop's thread, before uv_run */
    assert_int_equal(kvw_client_fd(ctx->client), KVW_EINVAL);
    assert_int_equal(kvw_client_poll(ctx->client, 0), KVW_EINVAL);

    enum { MINE = 10, THEIRS = 20, N = MINE + THEIRS };
    batch *b = batch_new(ctx, N);
    b->action = ACT_CLOSE_AT_TOTAL;
    b->close_at = N;
    for (int i = 0; i < MINE; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    thread_submit other = {b, MINE, THEIRS, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, thread_submit_main, &other), 0);

    uv_watch w = {0};
    uv_timer_t *wd = start_watchdog(ctx, loop, &w);
    uv_run(loop, UV_RUN_DEFAULT); /* returns once the client is closed */
    pthread_join(th, NULL);
    if (w.fired)
        print_error("uv_run did not return within %d ms (%ld of %d callbacks)\n", KT_TIMEOUT_MS,
                    kt_waiter_count(&b->total), N);
    assert_false(w.fired);
    assert_int_equal(other.bad_rc, 0);
    assert_int_equal(b->action_rc, 0);
    assert_int_equal(kt_waiter_count(&b->total), N);
    assert_each_once(b, N);
    pthread_t me = pthread_self();
    for (int i = 0; i < N; i++) {
        static const int ok[] = {KVW_OK, KVW_ENOTFOUND};
        assert_status_in(&b->slots[i], ok, 2);
        assert_true(pthread_equal(b->slots[i].thread, me));
    }
    kvw_bucket_free(ctx->bucket);
    ctx->bucket = NULL;
    kvw_client_free(ctx->client);
    ctx->client = NULL;
    finish_loop(loop, wd);
}

typedef struct uv_free_at {
    kvw_client *client;
    int done;
} uv_free_at;

static void free_client_timer_cb(uv_timer_t *t)
{
    uv_free_at *f = t->data;
    kvw_client_free(f->client);
    f->done = 1;
    uv_close((uv_handle_t *)t, NULL);
}

static void test_libuv_free_with_ops_in_flight(void **state)
{
    kt_ctx *ctx = *state;
    uv_loop_t *loop = kt_alloc(ctx, sizeof *loop);
    assert_int_equal(uv_loop_init(loop), 0);
    kvw_client_options o;
    kt_client_options(ctx, &o);
    kvw_client_options_use_uv(&o, loop);
    kt_open(ctx, &o, "uvfree", NULL);

    enum { N = 20 };
    batch *b = batch_new(ctx, N);
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    uv_free_at *f = kt_alloc(ctx, sizeof *f);
    f->client = ctx->client;
    ctx->client = NULL; /* the timer frees it, on the loop thread */
    uv_timer_t *t = kt_alloc(ctx, sizeof *t);
    assert_int_equal(uv_timer_init(loop, t), 0);
    t->data = f;
    assert_int_equal(uv_timer_start(t, free_client_timer_cb, 0, 0), 0);

    uv_watch w = {0};
    uv_timer_t *wd = start_watchdog(ctx, loop, &w);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(ts_server_resume(g_server), 0);
    if (w.fired)
        print_error("uv_run did not return after kvw_client_free (%ld of %d callbacks)\n",
                    kt_waiter_count(&b->total), N);
    assert_false(w.fired);
    assert_true(f->done);
    assert_int_equal(kt_waiter_count(&b->total), N);
    assert_each_once(b, N);
    pthread_t me = pthread_self();
    for (int i = 0; i < N; i++) {
        assert_int_equal(b->slots[i].status, KVW_ECLOSED);
        assert_true(pthread_equal(b->slots[i].thread, me));
    }
    finish_loop(loop, wd);
}

/* ------------------------------------------- back-pressure, deadlines */

static void test_ebusy_when_window_full(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.max_inflight = 4;
    kt_open(ctx, &o, "busy", NULL);
    batch *b = batch_new(ctx, 6);
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    int64_t t0 = kt_now_ms();
    assert_int_equal(put_slot(b, "k", "v", 4), KVW_EBUSY);
    assert_int_equal(kvw_get(b->bucket, "k", slot_cb, &b->slots[5]), KVW_EBUSY);
    assert_true(kt_now_ms() - t0 < 1000); /* never blocks the caller */
    assert_int_equal(kvw_client_inflight(ctx->client), 4);
    assert_true(kvw_err_is_retryable(KVW_EBUSY));
    assert_int_equal(ts_server_resume(g_server), 0);
    wait_total(b, 4);
    assert_each_once(b, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(b->slots[i].status, KVW_OK);
    wait_inflight_zero(ctx->client);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "k", "after"), KVW_OK);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(slot_calls(&b->slots[4]), 0);
    assert_int_equal(slot_calls(&b->slots[5]), 0);
}

static void test_ebusy_poll_mode_counts_until_callback_returns(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.max_inflight = 3;
    o.delivery = KVW_DELIVERY_POLL;
    kt_open(ctx, &o, "busypoll", NULL);
    batch *b = batch_new(ctx, 5);
    for (int i = 0; i < 3; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    /* Wait until the acks are in: completions pending but not delivered still count. */
    struct pollfd pfd = {kvw_client_fd(ctx->client), POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, KT_TIMEOUT_MS), 1);
    assert_int_equal(put_slot(b, "k", "v", 3), KVW_EBUSY);
    int delivered = 0;
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (delivered < 3 && kt_now_ms() < dl) {
        int ran = kvw_client_poll(ctx->client, 1000);
        assert_true(ran >= 0);
        delivered += ran;
    }
    assert_int_equal(delivered, 3);
    assert_int_equal(kvw_client_inflight(ctx->client), 0);
    assert_int_equal(put_slot(b, "k", "v", 4), 0);
    dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (slot_calls(&b->slots[4]) == 0 && kt_now_ms() < dl)
        assert_true(kvw_client_poll(ctx->client, 1000) >= 0);
    assert_int_equal(slot_calls(&b->slots[4]), 1);
    assert_int_equal(slot_calls(&b->slots[3]), 0);
}

/* A put that must succeed with a short op timeout: a busy machine (or the
 * server catching up after SIGCONT) may miss one deadline, so retry a few times. */
static void put_ok_retrying_timeouts(kt_ctx *ctx, const char *key, const char *val)
{
    kt_rec *r = NULL;
    for (int i = 0; i < 5; i++) {
        r = kt_put_s(ctx, ctx->bucket, key, val);
        if (r->status != KVW_ETIMEDOUT)
            break;
    }
    kt_assert_status(r, KVW_OK);
}

static void test_timeout_when_server_stopped(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 1000;
    kt_open(ctx, &o, "tmo", NULL);
    put_ok_retrying_timeouts(ctx, "k", "before");

    assert_int_equal(ts_server_pause(g_server), 0);
    kt_rec *w = kt_rec_new(ctx);
    int64_t t0 = kt_now_ms();
    assert_int_equal(kvw_put(ctx->bucket, "k", "during", 6, kt_rec_cb, w), 0);
    int wr = kt_rec_wait(w);
    int64_t took = kt_now_ms() - t0;
    assert_int_equal(ts_server_resume(g_server), 0);
    assert_int_equal(wr, 0);
    kt_assert_status(w, KVW_ETIMEDOUT);
    assert_int_equal(kvw_err_outcome_unknown(w->status), 1);
    assert_int_equal(kvw_err_is_retryable(w->status), 1);
    assert_true(took >= 900);
    print_message("write timed out after %lld ms\n", (long long)took);

    /* After the server wakes up, the late ack must not produce a second callback. */
    put_ok_retrying_timeouts(ctx, "k", "after");
    kt_assert_status(kt_get(ctx, ctx->bucket, "k"), KVW_OK);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_rec_calls(w), 1);
}

static void test_read_timeout_when_server_stopped(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 1000;
    kt_open(ctx, &o, "rtmo", NULL);
    put_ok_retrying_timeouts(ctx, "k", "before");

    assert_int_equal(ts_server_pause(g_server), 0);
    kt_rec *g = kt_rec_new(ctx);
    kt_rec *e = kt_rec_new(ctx);
    int64_t t0 = kt_now_ms();
    assert_int_equal(kvw_get(ctx->bucket, "k", kt_rec_cb, g), 0);
    assert_int_equal(kvw_get_entry(ctx->bucket, "k", kt_rec_cb, e), 0);
    int gr = kt_rec_wait(g);
    int er = kt_waiter_wait(&e->w, 1, 3000); /* same deadline: shortly after g */
    int64_t took = kt_now_ms() - t0;
    assert_int_equal(ts_server_resume(g_server), 0);
    if (gr != 0)
        print_error("kvw_get with the server stopped: no callback within %d ms "
                    "(op_timeout_ms = 1000)\n", KT_TIMEOUT_MS);
    assert_int_equal(gr, 0);
    assert_int_equal(er, 0);
    kt_assert_status(g, KVW_ETIMEDOUT);
    kt_assert_status(e, KVW_ETIMEDOUT);
    assert_true(took >= 900);
    print_message("reads timed out after %lld ms\n", (long long)took);

    /* The late replies must not produce second callbacks. */
    put_ok_retrying_timeouts(ctx, "k", "after");
    kt_assert_status(kt_get(ctx, ctx->bucket, "k"), KVW_OK);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_rec_calls(g), 1);
    assert_int_equal(kt_rec_calls(e), 1);
}

static void test_server_restart(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 2000;
    o.max_reconnect = -1;
    o.reconnect_wait_ms = 100;
    kt_open(ctx, &o, "restart", NULL);
    kt_rec *before = kt_put_s(ctx, ctx->bucket, "kept", "persisted");
    kt_assert_status(before, KVW_OK);

    enum { N = 50 };
    batch *b = batch_new(ctx, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(put_slot(b, "k", "v", i), 0);
    assert_int_equal(ts_server_stop(g_server), 0);
    wait_total(b, N);
    assert_each_once(b, N);
    for (int i = 0; i < N; i++) {
        /* A publish racing the server's shutdown can meet a JetStream that
         * already stopped: "no responders", which kvw reports as ENOBUCKET. */
        static const int ok[] = {KVW_OK, KVW_ETIMEDOUT, KVW_ENOTCONN, KVW_ESERVER, KVW_ENOBUCKET};
        assert_status_in(&b->slots[i], ok, 5);
    }

    assert_int_equal(ts_server_start(g_server), 0);
    /* The client reconnects by itself; retry while the error says it may help. */
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    kt_rec *p;
    for (;;) {
        p = kt_rec_new(ctx);
        int rc = kvw_put(ctx->bucket, "k", "after", 5, kt_rec_cb, p);
        if (rc == 0) {
            assert_int_equal(kt_rec_wait(p), 0);
            rc = p->status;
        }
        if (rc == KVW_OK)
            break;
        if (kt_now_ms() > dl) {
            print_error("no successful put after restart: %s\n", kvw_err_name(rc));
            fail();
        }
        if (!kvw_err_is_retryable(rc) && rc != KVW_ESERVER && rc != KVW_ENOBUCKET) {
            print_error("put after restart: %s is not retryable\n", kvw_err_name(rc));
            fail();
        }
        kt_sleep_ms(50); /* back-off between retries */
    }
    kt_rec *g = kt_get(ctx, ctx->bucket, "kept");
    kt_assert_status(g, KVW_OK);
    assert_string_equal((const char *)g->value, "persisted");
    assert_int_equal(kt_rev(g->version), kt_rev(before->version));
    assert_true(kt_rev(p->version) > kt_rev(before->version));
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_count(&b->total), N);
}

/* "No responders" (no stream leader yet, JetStream restarting, the stream
 * gone) means nothing was stored: kvw sends the op again with a backoff until
 * its deadline instead of failing it at once. Here the bucket's stream is
 * deleted and made again while a put and a get wait; then deleted for good. */
static void test_no_responders_retried_until_deadline(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 3000;
    kt_open(ctx, &o, "noresp", NULL);
    char stream[80];
    snprintf(stream, sizeof stream, "KV_%s", ctx->bucket_name);
    kt_nats n;
    assert_int_equal(kt_nats_open(&n, ts_server_url(g_server)), 0);
    assert_int_equal(js_DeleteStream(n.js, stream, NULL, NULL), NATS_OK);

    int64_t t0 = kt_now_ms();
    kt_rec *put = kt_rec_new(ctx), *get = kt_rec_new(ctx);
    assert_int_equal(kvw_put(ctx->bucket, "k", "v", 1, kt_rec_cb, put), 0);
    assert_int_equal(kvw_get(ctx->bucket, "k", kt_rec_cb, get), 0);
    kt_sleep_ms(400);
    assert_int_equal(kt_rec_calls(put), 0); /* still trying */
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    kvw_bucket *again = NULL;
    assert_int_equal(kvw_bucket_open(&again, ctx->client, ctx->bucket_name, &bo), 0);
    kvw_bucket_free(again);
    assert_int_equal(kt_rec_wait(put), 0);
    assert_int_equal(kt_rec_wait(get), 0);
    kt_assert_status(put, KVW_OK);
    assert_true(kt_now_ms() - t0 >= 400);
    /* The get may run before or after the put. nats-server 2.9 sent no reply
     * at all to it here (no "no responders" to retry), so it timed out. */
    if (get->status == KVW_ETIMEDOUT && kvw_client_server_version(ctx->client) < 21000)
        print_message("  nats-server 2.9: the direct get got no reply at all: timed out\n");
    else if (get->status != KVW_ENOTFOUND)
        kt_assert_status(get, KVW_OK);

    /* Gone for good: the op fails when its deadline comes, not at once. */
    assert_int_equal(js_DeleteStream(n.js, stream, NULL, NULL), NATS_OK);
    t0 = kt_now_ms();
    kt_rec *late = kt_rec_new(ctx);
    assert_int_equal(kvw_put(ctx->bucket, "k", "w", 1, kt_rec_cb, late), 0);
    assert_int_equal(kt_rec_wait(late), 0);
    int64_t took = kt_now_ms() - t0;
    kt_assert_status(late, KVW_ENOTCONN);
    assert_non_null(strstr(late->message, "tries"));
    print_message("  no responders: failed after %lld ms (op deadline 3000 ms): %s\n", (long long)took,
                  late->message);
    assert_true(took >= 2500 && took <= 3500);
    /* The op counts until its callback has returned, a moment after it signalled. */
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (kvw_client_inflight(ctx->client) != 0 && kt_now_ms() < dl)
        kt_sleep_ms(1);
    assert_int_equal(kvw_client_inflight(ctx->client), 0);
    kt_nats_close(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops_from_threads_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_key_order_mixed_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_key_order_create_over_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_ops_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_cancels_unacked_ops_without_waiting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_client_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_bucket_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_races_with_submitters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_mode_delivery_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_callback_does_not_time_out_acked_ops, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_may_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_mode_callbacks_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libuv_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libuv_free_with_ops_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ebusy_when_window_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ebusy_poll_mode_counts_until_callback_returns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeout_when_server_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout_when_server_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_responders_retried_until_deadline, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("contract", tests, group_setup, group_teardown);
}
