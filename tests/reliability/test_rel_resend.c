/*
 * reliability/resend: idempotent resends (kvw_client_options.resend_after_ms).
 *
 *   - lost ack: a proxy (support/cutproxy.h) forwards a write to the server
 *     and drops the connection before the ack comes back. put, create,
 *     update, delete_with_version and purge end KVW_OK at the version the
 *     server stored, and the key holds exactly one record of the op (read
 *     with nats.c's kvStore_History). On servers that check a CAS before the
 *     write id (2.12+) the resend is refused as a conflict with its own first
 *     send, which kvw recognises by the id.
 *   - a real conflict behind a lost answer stays KVW_ECONFLICT;
 *   - with resends off (KVW_RESEND_NEVER) the same lost ack ends
 *     KVW_ETIMEDOUT although the write landed: what this suite would catch;
 *     so it does on a bucket whose duplicate window is shorter than the wait
 *     before a resend (kvw does not resend past it);
 *   - a server paused (SIGSTOP) for less than the op deadline: every op OK,
 *     each stored once;
 *   - kvw_client_drain against a paused server that comes back: every op gets
 *     its real outcome, where kvw_client_close cancels them all.
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

#include "rel.h"
#include "support/cutproxy.h"
#include "support/natsreader.h"

static ts_server *g_server;
static kt_nats g_nats;

static int group_setup(void **state)
{
    (void)state;
    g_server = ts_server_spawn(NULL);
    if (!g_server)
        return -1;
    return kt_nats_open(&g_nats, ts_server_url(g_server));
}

static int group_teardown(void **state)
{
    (void)state;
    kt_nats_close(&g_nats);
    ts_server_free(g_server);
    nats_Close();
    return 0;
}

typedef struct fixture {
    kt_ctx *ctx;
    tp_proxy *proxy;
    kvStore *kv;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->ctx = kt_ctx_new(g_server);
    f->proxy = tp_proxy_start(ts_server_port(g_server));
    if (!f->ctx || !f->proxy)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kt_ctx_free(f->ctx); /* closes the client first */
    tp_proxy_free(f->proxy);
    if (f->kv)
        kvStore_Destroy(f->kv);
    free(f);
    return 0;
}

/* A client through the proxy (resends after 300 ms unless `resend_after_ms`
 * says otherwise) and a bucket keeping 10 records per key. */
static void open_through_proxy(fixture *f, int64_t resend_after_ms)
{
    kvw_client_options o;
    kt_client_options(f->ctx, &o);
    o.servers = tp_proxy_url(f->proxy);
    o.resend_after_ms = resend_after_ms;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 10;
    kt_open(f->ctx, &o, "resend", &bo);
    assert_int_equal(js_KeyValue(&f->kv, g_nats.js, f->ctx->bucket_name), NATS_OK);
}

/* Arms the proxy to lose the answer to the next write on `key`. */
static void lose_next_answer(fixture *f, const char *key)
{
    char needle[160];
    snprintf(needle, sizeof needle, "$KV.%s.%s ", f->ctx->bucket_name, key);
    tp_proxy_cut_after(f->proxy, needle);
}

/* The key's records as nats.c sees them: count, and the last one's revision and op. */
static int history(fixture *f, const char *key, uint64_t *last_rev, kvOperation *last_op)
{
    kvEntryList list = {0};
    natsStatus s = kvStore_History(&list, f->kv, key, NULL);
    if (s == NATS_NOT_FOUND)
        return 0;
    assert_int_equal(s, NATS_OK);
    int n = list.Count;
    if (n > 0) {
        *last_rev = kvEntry_Revision(list.Entries[n - 1]);
        if (last_op)
            *last_op = kvEntry_Operation(list.Entries[n - 1]);
    }
    kvEntryList_Destroy(&list);
    return n;
}

/* The op (already submitted through a kt_* helper) lost its ack once and
 * ended OK at the last record, which is the only one it added. */
static void assert_landed_once(fixture *f, kt_rec *r, const char *key, int records_before,
                               kvOperation want_op, int cuts_before)
{
    assert_int_equal(tp_proxy_cuts(f->proxy), cuts_before + 1); /* the answer was lost */
    if (r->status != KVW_OK)
        print_error("%s: %s (%s)\n", key, r->status_name, r->message ? r->message : "");
    kt_assert_status(r, KVW_OK);
    uint64_t rev = 0;
    kvOperation op = kvOp_Unknown;
    assert_int_equal(history(f, key, &rev, &op), records_before + 1);
    assert_int_equal(kt_rev(r->version), rev);
    assert_int_equal(op, want_op);
}

static void test_lost_acks_end_ok_once(void **state)
{
    fixture *f = *state;
    open_through_proxy(f, 300);
    kt_ctx *ctx = f->ctx;
    int cuts = tp_proxy_cuts(f->proxy);

    lose_next_answer(f, "put");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "put", "v");
    assert_landed_once(f, p, "put", 0, kvOp_Put, cuts++);

    lose_next_answer(f, "create");
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "create", "v");
    assert_landed_once(f, c, "create", 0, kvOp_Put, cuts++);

    kt_rec *u0 = kt_put_s(ctx, ctx->bucket, "update", "v1");
    kt_assert_status(u0, KVW_OK);
    lose_next_answer(f, "update");
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "update", "v2", u0->version);
    assert_landed_once(f, u, "update", 1, kvOp_Put, cuts++);

    kt_rec *d0 = kt_put_s(ctx, ctx->bucket, "delv", "v1");
    kt_assert_status(d0, KVW_OK);
    lose_next_answer(f, "delv");
    kt_rec *d = kt_delete_v(ctx, ctx->bucket, "delv", d0->version);
    assert_landed_once(f, d, "delv", 1, kvOp_Put, cuts++); /* a tombstone: an empty value (DESIGN.md) */

    kt_rec *g0 = kt_put_s(ctx, ctx->bucket, "purge", "v1");
    kt_assert_status(g0, KVW_OK);
    lose_next_answer(f, "purge");
    kt_rec *g = kt_rec_new(ctx);
    assert_int_equal(kvw_purge(ctx->bucket, "purge", kt_rec_cb, g), KVW_OK);
    assert_int_equal(kt_rec_wait(g), 0);
    assert_int_equal(tp_proxy_cuts(f->proxy), cuts + 1);
    kt_assert_status(g, KVW_OK);
    uint64_t rev = 0;
    kvOperation op = kvOp_Unknown;
    assert_int_equal(history(f, "purge", &rev, &op), 1); /* the rollup left the marker alone */
    assert_int_equal(kt_rev(g->version), rev);
    assert_int_equal(op, kvOp_Purge);
    print_message("FIGURES resend(lost ack): put, create, update, delete_with_version, purge: "
                  "5 of 5 OK at the stored version, 1 record each\n");
}

static void test_real_conflict_behind_lost_answer(void **state)
{
    fixture *f = *state;
    open_through_proxy(f, 300);
    kt_ctx *ctx = f->ctx;
    kt_rec *v1 = kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_rec *v2 = kt_put_s(ctx, ctx->bucket, "k", "v2");
    kt_assert_status(v2, KVW_OK);
    int cuts = tp_proxy_cuts(f->proxy);
    lose_next_answer(f, "k");
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "k", "stale", v1->version);
    assert_int_equal(tp_proxy_cuts(f->proxy), cuts + 1);
    kt_assert_status(u, KVW_ECONFLICT);
    assert_int_equal(kt_rev(u->version), kt_rev(v2->version));
    uint64_t rev = 0;
    assert_int_equal(history(f, "k", &rev, NULL), 2);

    /* And create over a live key behind a lost answer: already exists. */
    lose_next_answer(f, "k");
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "again");
    assert_int_equal(tp_proxy_cuts(f->proxy), cuts + 2);
    kt_assert_status(c, KVW_EEXIST);
    assert_int_equal(history(f, "k", &rev, NULL), 2);
}

/* The "before": without write ids a lost ack is an unknown outcome. */
static void test_without_resends_a_lost_ack_is_unknown(void **state)
{
    fixture *f = *state;
    kvw_client_options o;
    kt_client_options(f->ctx, &o);
    o.op_timeout_ms = 1500;
    o.servers = tp_proxy_url(f->proxy);
    o.resend_after_ms = KVW_RESEND_NEVER;
    kt_open(f->ctx, &o, "noresend", NULL);
    assert_int_equal(js_KeyValue(&f->kv, g_nats.js, f->ctx->bucket_name), NATS_OK);
    lose_next_answer(f, "k");
    kt_rec *p = kt_put_s(f->ctx, f->ctx->bucket, "k", "v");
    assert_int_equal(tp_proxy_cuts(f->proxy), 1);
    kt_assert_status(p, KVW_ETIMEDOUT);
    uint64_t rev = 0;
    assert_int_equal(history(f, "k", &rev, NULL), 1); /* it had landed */
}

/* A bucket whose duplicate window is shorter than the wait before a resend:
 * kvw does not resend past the window (the stream would store it again), so
 * a lost ack stays an unknown outcome, and the write is stored once. */
static void test_no_resend_past_the_duplicate_window(void **state)
{
    fixture *f = *state;
    kvw_client_options o;
    kt_client_options(f->ctx, &o);
    o.servers = tp_proxy_url(f->proxy);
    o.resend_after_ms = 300;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 10;
    bo.duplicate_window_ms = 200;
    kt_open(f->ctx, &o, "window", &bo);
    assert_int_equal(js_KeyValue(&f->kv, g_nats.js, f->ctx->bucket_name), NATS_OK);
    lose_next_answer(f, "k");
    int64_t t0 = kt_now_ms();
    kt_rec *p = kt_put_s(f->ctx, f->ctx->bucket, "k", "v");
    assert_int_equal(tp_proxy_cuts(f->proxy), 1);
    kt_assert_status(p, KVW_ETIMEDOUT);
    assert_non_null(strstr(p->message, "duplicate window (200 ms)"));
    assert_true(kt_now_ms() - t0 < 2000); /* at the first missing ack, not the 5 s deadline */
    uint64_t rev = 0;
    assert_int_equal(history(f, "k", &rev, NULL), 1);
    /* A window below zero is refused, and so is one longer than max_age. */
    bo.duplicate_window_ms = -1;
    kvw_bucket *b = NULL;
    assert_int_equal(kvw_bucket_open(&b, f->ctx->client, "window_bad", &bo), KVW_EINVAL);
    bo.duplicate_window_ms = 60000;
    bo.max_age_ms = 30000;
    assert_int_equal(kvw_bucket_open(&b, f->ctx->client, "window_bad", &bo), KVW_EINVAL);
}

/* ------------------------------------------------ pause and drain */

typedef struct pauser {
    ts_server *server;
    int delay_ms, pause_ms;
} pauser;

static void *pause_main(void *arg)
{
    pauser *p = arg;
    kt_sleep_ms(p->delay_ms);
    if (p->pause_ms > 0) {
        ts_server_pause(p->server);
        kt_sleep_ms(p->pause_ms);
    }
    ts_server_resume(p->server);
    return NULL;
}

static void open_direct(kvw_client **c, kvw_bucket **b, char *name, size_t size, int64_t resend_after_ms)
{
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = ts_server_url(g_server);
    o.op_timeout_ms = 5000;
    o.reconnect_wait_ms = 100;
    o.resend_after_ms = resend_after_ms;
    assert_int_equal(kvw_client_open(c, &o), KVW_OK);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 4; /* a second record of an op would show */
    kt_unique_name(name, size, "paused");
    assert_int_equal(kvw_bucket_open(b, *c, name, &bo), KVW_OK);
}

/* SIGSTOP for 2 s while puts stream in, op deadline 5 s: nothing unknown. */
static void test_pause_shorter_than_deadline(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        const int resend = round == 1;
        kvw_client *c = NULL;
        kvw_bucket *b = NULL;
        char name[64];
        open_direct(&c, &b, name, sizeof name, resend ? 1000 : KVW_RESEND_NEVER);
        enum { N = 6000 };
        rel_load *l = rel_load_new(N, "p");
        l->rate_per_s = 2000;
        pauser pz = {g_server, 1000, 2000};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, pause_main, &pz), 0);
        int accepted = rel_put_range(b, l, 0, N, kt_now_ms() + 60000, NULL);
        pthread_join(th, NULL);
        assert_int_equal(accepted, N);
        assert_int_equal(rel_wait_all(l, 30000), 0);
        rel_assert_exactly_once(l);
        rel_tally t;
        rel_tally_of(l, &t);
        rel_tally_print(resend ? "paused 2 s, resends" : "paused 2 s, no resends", &t);
        kvw_client_close(c);
        rel_verify_stats v;
        rel_load *loads[] = {l};
        assert_int_equal(rel_verify(ts_server_url(g_server), name, loads, 1, 0, &v), 0);
        rel_verify_print("paused", &v);
        rel_assert_verified(&v);
        print_message("FIGURES resend(SIGSTOP 2 s, deadline 5 s, %s): ops %d, OK %d, outcome-unknown %d "
                      "(%d present), failed %d\n",
                      resend ? "resends" : "no resends", N, t.ok, t.unknown, v.unknown_present,
                      t.failed);
        if (resend) {
            assert_int_equal(t.unknown, 0);
            assert_int_equal(t.ok, N);
        }
        kvw_bucket_free(b);
        kvw_client_free(c);
        rel_load_free(l);
    }
}

static void count_cb(const kvw_result *r, void *user_data)
{
    (void)r;
    kt_waiter_signal(user_data);
}

/* 1,000 puts in flight to a paused server that comes back 500 ms later:
 * close cancels them all (outcome unknown), drain waits for real outcomes. */
static void test_drain_gets_real_outcomes(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        const int drain = round == 1;
        kvw_client *c = NULL;
        kvw_bucket *b = NULL;
        char name[64];
        open_direct(&c, &b, name, sizeof name, 1000);
        enum { N = 1000 };
        rel_load *l = rel_load_new(N, "d");
        assert_int_equal(ts_server_pause(g_server), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(rel_put(b, l, i), KVW_OK);
        pauser pz = {g_server, 500, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, pause_main, &pz), 0);
        int64_t t0 = kt_now_ms();
        int rc = drain ? kvw_client_drain(c, 10000) : kvw_client_close(c);
        int64_t took = kt_now_ms() - t0;
        pthread_join(th, NULL);
        assert_int_equal(rc, KVW_OK);
        /* Closed now: no new ops. */
        kt_waiter none;
        kt_waiter_init(&none);
        assert_int_equal(kvw_put(b, "late", "v", 1, count_cb, &none), KVW_ECLOSED);
        assert_int_equal(rel_wait_all(l, 10000), 0);
        rel_assert_exactly_once(l);
        rel_tally t;
        rel_tally_of(l, &t);
        rel_tally_print(drain ? "drain" : "close", &t);
        print_message("FIGURES resend(%s with %d in flight, server paused 500 ms): returned after %lld ms, "
                      "OK %d, cancelled %d\n",
                      drain ? "kvw_client_drain" : "kvw_client_close", N, (long long)took, t.ok,
                      t.by_status[-KVW_ECLOSED]);
        if (drain)
            assert_int_equal(t.ok, N);
        else
            assert_int_equal(t.by_status[-KVW_ECLOSED], N);
        kvw_bucket_free(b);
        kvw_client_free(c);
        rel_load_free(l);
    }
}

typedef struct drain_in_cb {
    kvw_client *client;
    int rc;
    kt_waiter done;
} drain_in_cb;

static void drain_cb(const kvw_result *r, void *user_data)
{
    (void)r;
    drain_in_cb *d = user_data;
    d->rc = kvw_client_drain(d->client, 1000);
    kt_waiter_signal(&d->done);
}

static void test_drain_bad_input_and_timeout(void **state)
{
    (void)state;
    assert_int_equal(kvw_client_drain(NULL, 100), KVW_EINVAL);
    kvw_client *c = NULL;
    kvw_bucket *b = NULL;
    char name[64];
    open_direct(&c, &b, name, sizeof name, 1000);
    assert_int_equal(kvw_client_drain(c, -1), KVW_EINVAL);
    /* Inside a callback it would wait for what may need that callback to return. */
    drain_in_cb d;
    d.client = c;
    d.rc = 1;
    kt_waiter_init(&d.done);
    assert_int_equal(kvw_put(b, "cb", "v", 1, drain_cb, &d), KVW_OK);
    assert_int_equal(kt_waiter_wait(&d.done, 1, KT_TIMEOUT_MS), 0);
    assert_int_equal(d.rc, KVW_EINVAL);
    /* A server paused for longer than the wait: drain gives up, cancels. */
    rel_load *l = rel_load_new(10, "t");
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rel_put(b, l, i), KVW_OK);
    assert_int_equal(kvw_client_drain(c, 200), KVW_ETIMEDOUT);
    assert_int_equal(ts_server_resume(g_server), 0);
    assert_int_equal(rel_wait_all(l, 10000), 0);
    rel_assert_exactly_once(l);
    rel_tally t;
    rel_tally_of(l, &t);
    assert_int_equal(t.by_status[-KVW_ECLOSED], 10);
    assert_int_equal(kvw_client_drain(c, 100), KVW_OK); /* closed and empty: nothing to wait for */
    kvw_bucket_free(b);
    kvw_client_free(c);
    rel_load_free(l);
}

/* ------------------------------------------------------------------------
 * Per-key ordering never holds its lock across a send (issue 13): ops queued
 * behind a create go out when the create finishes, on nats.c's ack thread,
 * and such a send can block on a full socket. While it blocks, a submit on
 * another key that a create holds must still return at once (it only
 * queues). The proxy holds the acks of two creates (k1, k3), big puts queue
 * behind k1, the proxy stops reading so the socket fills, then the acks go
 * through: k1's release blocks in its send, and a put on k3 is submitted. */

typedef struct filler {
    kvw_bucket *bucket;
    kt_rec *rec;
    const char *value;
    size_t len;
    int64_t busy_since; /* a submit in progress since (ms), 0: none; atomic */
    int stop, submitted; /* atomic */
} filler;

static void *fill_main(void *p)
{
    filler *f = p;
    while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
        char key[32];
        snprintf(key, sizeof key, "fill%d", f->submitted);
        __atomic_store_n(&f->busy_since, kt_now_ms(), __ATOMIC_RELEASE);
        int rc = kvw_put(f->bucket, key, f->value, f->len, kt_rec_cb, f->rec);
        __atomic_store_n(&f->busy_since, 0, __ATOMIC_RELEASE);
        if (rc != 0)
            break;
        __atomic_add_fetch(&f->submitted, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

static void test_blocked_send_does_not_hold_key_order(void **state)
{
    fixture *f = *state;
    kvw_client_options o;
    kt_client_options(f->ctx, &o);
    o.servers = tp_proxy_url(f->proxy);
    o.resend_after_ms = KVW_RESEND_NEVER;
    o.op_timeout_ms = 4000; /* also the write deadline */
    o.max_inflight = 100000;
    kt_open(f->ctx, &o, "order", NULL);
    kvw_bucket *b = f->ctx->bucket;

    enum { BIG = 512 * 1024, QUEUED = 4 };
    char *big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'x', BIG);
    kt_rec *c1 = kt_rec_new(f->ctx), *c3 = kt_rec_new(f->ctx), *k3 = kt_rec_new(f->ctx);
    kt_rec *queued = kt_rec_new(f->ctx), *fills = kt_rec_new(f->ctx);

    tp_proxy_hold(f->proxy, 0, 1); /* the creates reach the server; their acks wait */
    assert_int_equal(kvw_create(b, "k1", "a", 1, kt_rec_cb, c1), 0);
    assert_int_equal(kvw_create(b, "k3", "a", 1, kt_rec_cb, c3), 0);
    for (int i = 0; i < QUEUED; i++)
        assert_int_equal(kvw_put(b, "k1", big, BIG, kt_rec_cb, queued), 0); /* behind k1's create */
    kt_sleep_ms(200);
    tp_proxy_hold(f->proxy, 1, 1); /* the proxy stops reading: the client's socket fills */

    filler fl = {.bucket = b, .rec = fills, .value = big, .len = BIG};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fill_main, &fl), 0);
    int64_t dl = kt_now_ms() + 3000, since = 0;
    while (kt_now_ms() < dl) { /* until a submit has been stuck for 300 ms */
        since = __atomic_load_n(&fl.busy_since, __ATOMIC_ACQUIRE);
        if (since != 0 && kt_now_ms() - since > 300)
            break;
        kt_sleep_ms(10);
    }
    assert_true(since != 0 && kt_now_ms() - since > 300);

    tp_proxy_hold(f->proxy, 1, 0); /* the acks go through: k1's release sends into the full socket */
    kt_sleep_ms(300);
    int64_t t0 = kt_now_ms();
    assert_int_equal(kvw_put(b, "k3", "b", 1, kt_rec_cb, k3), 0); /* k3's create holds the key: it queues */
    int64_t took = kt_now_ms() - t0;
    print_message("a put on a held key was submitted in %lld ms while a release of another key was blocked "
                  "in its send (%d fill puts submitted)\n", (long long)took,
                  __atomic_load_n(&fl.submitted, __ATOMIC_ACQUIRE));
    assert_true(took < 1000);

    tp_proxy_hold(f->proxy, 0, 0);
    __atomic_store_n(&fl.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    /* Every op still gets its one callback. */
    kt_waiter_wait(&queued->w, QUEUED, 30000);
    kt_waiter_wait(&fills->w, fl.submitted, 30000);
    assert_int_equal(kt_rec_wait(c1), 0);
    assert_int_equal(kt_rec_wait(c3), 0);
    assert_int_equal(kt_rec_wait(k3), 0);
    assert_int_equal(kt_rec_calls(queued), QUEUED);
    assert_int_equal(kt_rec_calls(fills), fl.submitted);
    assert_int_equal(kt_rec_calls(k3), 1);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_acks_end_ok_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_conflict_behind_lost_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_resends_a_lost_ack_is_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resend_past_the_duplicate_window, setup, teardown),
        cmocka_unit_test(test_pause_shorter_than_deadline),
        cmocka_unit_test(test_drain_gets_real_outcomes),
        cmocka_unit_test(test_drain_bad_input_and_timeout),
        cmocka_unit_test_setup_teardown(test_blocked_send_does_not_hold_key_order, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("reliability/resend", tests, group_setup, group_teardown);
}
