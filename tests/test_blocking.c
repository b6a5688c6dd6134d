/*
 * blocking: kvw_waiter (kvw.h, BLOCKING CALLS) against a private nats-server.
 * Outcomes are those of the async ops; the waiter gets them on the thread
 * that learns them, so blocking calls work in POLL mode with nobody polling
 * and inside a callback, and the completion contract holds at close, when a
 * waiter is abandoned, from many threads and across a server restart. What was written is read back
 * with nats.c's kvStore_Get, a client kvw did not write.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <kvw/kvw.h>
#include <nats/nats.h>

#include "support/kvwtest.h"
#include "support/natsreader.h"

static ts_server *g_server;
static kt_nats g_nats;

/* nats.c's kvStore_Get of bucket/key: 0 with a malloc'd value and its revision. */
static int kt_nats_get(kt_nats *n, const char *bucket, const char *key, char **value, uint64_t *rev)
{
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    int rc = -1;
    if (js_KeyValue(&kv, n->js, bucket) == NATS_OK && kvStore_Get(&e, kv, key) == NATS_OK) {
        const char *v = kvEntry_ValueString(e);
        *value = strdup(v ? v : "");
        *rev = kvEntry_Revision(e);
        rc = 0;
    }
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    g_server = ts_server_spawn(NULL);
    if (!g_server) return -1;
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

static int setup(void **state)
{
    kt_ctx *ctx = kt_ctx_new(g_server);
    *state = ctx;
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    kt_ctx_free(*state);
    return 0;
}

static kvw_waiter *new_waiter(void)
{
    kvw_waiter *w = NULL;
    assert_int_equal(kvw_waiter_new(&w), KVW_OK);
    assert_non_null(w);
    return w;
}

/* Waits for the op submitted with w (bounded) and returns its outcome. */
static const kvw_result *outcome(kvw_waiter *w)
{
    const kvw_result *r = NULL;
    assert_int_equal(kvw_waiter_wait(w, KT_TIMEOUT_MS, &r), 1);
    assert_non_null(r);
    return r;
}

static uint64_t rev_of(const kvw_result *r)
{
    uint64_t v = 0;
    assert_int_equal(kvw_version_to_u64(&r->version, &v), 0);
    return v;
}

/* Every op kind through one waiter, each outcome as the async op gives it. */
static void test_every_op_blocking(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "blk", NULL);
    kvw_bucket *b = ctx->bucket;
    kvw_waiter *w = new_waiter();
    const kvw_result *r;

    assert_int_equal(kvw_put(b, "k", "one", 3, kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK);
    assert_int_equal(r->op, KVW_OP_PUT);
    assert_string_equal(r->key, "k");
    const uint64_t v1 = rev_of(r);
    assert_true(v1 > 0);
    kvw_version ver1 = r->version;

    /* The same result again until the next submit. */
    const kvw_result *again = NULL;
    assert_int_equal(kvw_waiter_wait(w, 0, &again), 1);
    assert_ptr_equal(again, r);

    assert_int_equal(kvw_create(b, "k", "x", 1, kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_EEXIST);
    assert_int_equal(rev_of(r), v1);

    assert_int_equal(kvw_update(b, "k", "two", 3, &ver1, kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK);
    const uint64_t v2 = rev_of(r);
    assert_true(v2 > v1);

    assert_int_equal(kvw_update(b, "k", "stale", 5, &ver1, kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_ECONFLICT);
    assert_int_equal(rev_of(r), v2); /* the key's current version, exactly */

    assert_int_equal(kvw_get(b, "k", kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK);
    assert_int_equal(r->value_len, 3);
    assert_memory_equal(r->value, "two", 3);
    assert_int_equal(rev_of(r), v2);

    assert_int_equal(kvw_delete(b, "k", kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK);

    assert_int_equal(kvw_get_entry(b, "k", kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK);
    assert_int_equal(r->entry_op, KVW_ENTRY_DELETE);

    assert_int_equal(kvw_create(b, "k", "three", 5, kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK); /* create over a DEL marker */

    assert_int_equal(kvw_get(b, "missing", kvw_waiter_callback, w), KVW_OK);
    r = outcome(w);
    assert_int_equal(r->status, KVW_ENOTFOUND);
    assert_non_null(r->message);

    /* Stored as ordinary KV data. */
    char *value = NULL;
    uint64_t rev = 0;
    assert_int_equal(kt_nats_get(&g_nats, ctx->bucket_name, "k", &value, &rev), 0);
    assert_string_equal(value, "three");
    free(value);
    kvw_waiter_free(w);
}

/* Misuse is refused with KVW_EINVAL and loses nothing. */
static void test_waiter_misuse(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "blkmis", NULL);
    kvw_bucket *b = ctx->bucket;
    const kvw_result *r = (const kvw_result *)&r;

    assert_int_equal(kvw_waiter_new(NULL), KVW_EINVAL);
    kvw_waiter_free(NULL);
    assert_int_equal(kvw_waiter_wait(NULL, 0, &r), KVW_EINVAL);
    assert_null(r);
    kvw_waiter *w = new_waiter();
    assert_int_equal(kvw_waiter_wait(w, 0, NULL), KVW_EINVAL);
    /* Nothing submitted: no wait for ever. */
    r = (const kvw_result *)&r;
    assert_int_equal(kvw_waiter_wait(w, -1, &r), KVW_EINVAL);
    assert_null(r);
    /* A NULL waiter as user_data. */
    assert_int_equal(kvw_put(b, "k", "v", 1, kvw_waiter_callback, NULL), KVW_EINVAL);
    /* A refused submit leaves the waiter idle. */
    assert_int_equal(kvw_put(b, "bad..key", "v", 1, kvw_waiter_callback, w), KVW_EBADKEY);
    assert_int_equal(kvw_waiter_wait(w, -1, &r), KVW_EINVAL);

    /* One op at a time: a second submit while one is pending is refused. */
    assert_int_equal(ts_server_pause(g_server), 0);
    assert_int_equal(kvw_put(b, "k", "first", 5, kvw_waiter_callback, w), KVW_OK);
    assert_int_equal(kvw_put(b, "k", "second", 6, kvw_waiter_callback, w), KVW_EINVAL);
    assert_int_equal(kvw_waiter_wait(w, 50, &r), 0); /* still pending */
    assert_null(r);
    assert_int_equal(ts_server_resume(g_server), 0);
    r = outcome(w);
    assert_int_equal(r->status, KVW_OK);

    char *value = NULL;
    uint64_t rev = 0;
    assert_int_equal(kt_nats_get(&g_nats, ctx->bucket_name, "k", &value, &rev), 0);
    assert_string_equal(value, "first");
    assert_int_equal(rev, rev_of(r));
    free(value);
    kvw_waiter_free(w);
}

/* POLL mode: the outcome comes although nobody calls kvw_client_poll. */
static void test_poll_mode_without_polling(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.delivery = KVW_DELIVERY_POLL;
    kt_open(ctx, &o, "blkpoll", NULL);
    kvw_waiter *w = new_waiter();
    for (int i = 0; i < 20; i++) {
        assert_int_equal(kvw_put(ctx->bucket, "k", "v", 1, kvw_waiter_callback, w), KVW_OK);
        assert_int_equal(outcome(w)->status, KVW_OK);
    }
    assert_int_equal(kvw_client_poll(ctx->client, 0), 0); /* nothing went to the queue */
    kvw_waiter_free(w);
}

/* A blocking call inside a callback (on the delivery thread) completes. */
struct in_cb {
    kvw_bucket *bucket;
    int status;
    uint64_t version;
    kt_waiter done;
};

static void blocking_in_callback(const kvw_result *result, void *user_data)
{
    (void)result;
    struct in_cb *s = user_data;
    kvw_waiter *w = NULL;
    const kvw_result *r = NULL;
    s->status = KVW_EINTERNAL;
    if (kvw_waiter_new(&w) == KVW_OK && kvw_put(s->bucket, "inner", "v", 1, kvw_waiter_callback, w) == KVW_OK &&
        kvw_waiter_wait(w, KT_TIMEOUT_MS, &r) == 1) {
        s->status = r->status;
        kvw_version_to_u64(&r->version, &s->version);
    }
    kvw_waiter_free(w);
    kt_waiter_signal(&s->done);
}

static void test_blocking_inside_callback(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "blkcb", NULL);
    struct in_cb *s = kt_alloc(ctx, sizeof *s);
    s->bucket = ctx->bucket;
    kt_waiter_init(&s->done);
    assert_int_equal(kvw_put(ctx->bucket, "outer", "v", 1, blocking_in_callback, s), KVW_OK);
    assert_int_equal(kt_waiter_wait(&s->done, 1, KT_TIMEOUT_MS), 0);
    assert_int_equal(s->status, KVW_OK);
    assert_true(s->version > 0);
    kt_waiter_destroy(&s->done);
}

/* Close while a blocking call waits: it ends with KVW_ECLOSED, once. */
struct closer {
    kvw_client *client;
};

static void *close_later(void *arg)
{
    struct closer *c = arg;
    kt_sleep_ms(100);
    kvw_client_close(c->client);
    return NULL;
}

static void test_close_ends_blocking_call(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "blkclose", NULL);
    kvw_waiter *w = new_waiter();
    assert_int_equal(ts_server_pause(g_server), 0);
    assert_int_equal(kvw_put(ctx->bucket, "k", "v", 1, kvw_waiter_callback, w), KVW_OK);
    struct closer c = {ctx->client};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, close_later, &c), 0);
    const kvw_result *r = outcome(w);
    pthread_join(t, NULL);
    assert_int_equal(ts_server_resume(g_server), 0);
    assert_int_equal(r->status, KVW_ECLOSED);
    /* After close, a submit is refused and the waiter is idle again. */
    assert_int_equal(kvw_put(ctx->bucket, "k", "v", 1, kvw_waiter_callback, w), KVW_ECLOSED);
    assert_int_equal(kvw_waiter_wait(w, 0, &r), KVW_EINVAL);
    kvw_waiter_free(w);
}

/* A waiter freed with its op pending is freed when the op ends (ASan and
 * valgrind see a leak or a use after free otherwise); the write still lands. */
static void test_abandoned_waiter(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "blkabandon", NULL);
    assert_int_equal(ts_server_pause(g_server), 0);
    for (int i = 0; i < 10; i++) {
        kvw_waiter *w = new_waiter();
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(kvw_put(ctx->bucket, key, "v", 1, kvw_waiter_callback, w), KVW_OK);
        kvw_waiter_free(w);
    }
    assert_int_equal(ts_server_resume(g_server), 0);
    /* An ordinary op behind them: once it is done, so are they (one connection, in order). */
    kt_rec *last = kt_put_s(ctx, ctx->bucket, "k9", "after");
    kt_assert_status(last, KVW_OK);
    for (int i = 0; i < 10; i++) {
        char key[16], *value = NULL;
        uint64_t rev = 0;
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(kt_nats_get(&g_nats, ctx->bucket_name, key, &value, &rev), 0);
        free(value);
    }
}

/* Many threads, one client, each doing blocking puts on its own keys:
 * every call returns once with OK, versions are distinct, all stored. */
#define MT_THREADS 16
#define MT_PUTS 200

struct mt_arg {
    kvw_bucket *bucket;
    int index;
    int ok;
    uint64_t versions[MT_PUTS];
};

static void *mt_main(void *p)
{
    struct mt_arg *a = p;
    kvw_waiter *w = NULL;
    if (kvw_waiter_new(&w) != KVW_OK) return NULL;
    for (int i = 0; i < MT_PUTS; i++) {
        char key[32];
        const kvw_result *r = NULL;
        snprintf(key, sizeof key, "t%d.k%d", a->index, i % 10);
        if (kvw_put(a->bucket, key, key, strlen(key), kvw_waiter_callback, w) != KVW_OK) break;
        if (kvw_waiter_wait(w, KT_TIMEOUT_MS, &r) != 1) break;
        if (r->status == KVW_OK) {
            a->ok++;
            kvw_version_to_u64(&r->version, &a->versions[i]);
        }
    }
    kvw_waiter_free(w);
    return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_many_threads_blocking(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "blkmt", NULL);
    struct mt_arg *args = kt_alloc(ctx, sizeof(struct mt_arg) * MT_THREADS);
    pthread_t t[MT_THREADS];
    for (int i = 0; i < MT_THREADS; i++) {
        args[i].bucket = ctx->bucket;
        args[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, mt_main, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++) pthread_join(t[i], NULL);
    uint64_t *all = kt_alloc(ctx, sizeof(uint64_t) * MT_THREADS * MT_PUTS);
    size_t n = 0;
    for (int i = 0; i < MT_THREADS; i++) {
        assert_int_equal(args[i].ok, MT_PUTS);
        for (int j = 0; j < MT_PUTS; j++) all[n++] = args[i].versions[j];
    }
    qsort(all, n, sizeof *all, cmp_u64);
    for (size_t i = 1; i < n; i++) assert_true(all[i] > all[i - 1]);
    /* Each key's last value as nats.c sees it. */
    char *value = NULL;
    uint64_t rev = 0;
    assert_int_equal(kt_nats_get(&g_nats, ctx->bucket_name, "t3.k9", &value, &rev), 0);
    assert_string_equal(value, "t3.k9");
    assert_int_equal(rev, args[3].versions[MT_PUTS - 1]);
    free(value);
    assert_int_equal(kvw_client_inflight(ctx->client), 0);
}

/* The server is SIGKILLed and restarted on its store while threads make
 * blocking puts: every call returns once, each OK write is stored at its
 * version (write ids and resends keep outcomes real, not unknown). */
#define RS_THREADS 4

struct rs_arg {
    kvw_bucket *bucket;
    int index;
    volatile int *stop;
    int calls, ok, other;
    uint64_t last_version; /* of the thread's key, from its last OK put */
};

static void *rs_main(void *p)
{
    struct rs_arg *a = p;
    kvw_waiter *w = NULL;
    char key[16];
    snprintf(key, sizeof key, "rs%d", a->index);
    if (kvw_waiter_new(&w) != KVW_OK) return NULL;
    while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
        const kvw_result *r = NULL;
        if (kvw_put(a->bucket, key, key, strlen(key), kvw_waiter_callback, w) != KVW_OK) {
            kt_sleep_ms(5); /* e.g. KVW_EBUSY */
            continue;
        }
        if (kvw_waiter_wait(w, KT_TIMEOUT_MS * 3, &r) != 1) break; /* never: the contract */
        a->calls++;
        if (r->status == KVW_OK) {
            a->ok++;
            kvw_version_to_u64(&r->version, &a->last_version);
        } else {
            a->other++;
        }
    }
    kvw_waiter_free(w);
    return NULL;
}

static void test_server_restart_under_blocking_calls(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 8000;
    o.reconnect_wait_ms = 100;
    o.resend_after_ms = 300;
    kt_open(ctx, &o, "blkrestart", NULL);
    volatile int stop = 0;
    struct rs_arg *args = kt_alloc(ctx, sizeof(struct rs_arg) * RS_THREADS);
    pthread_t t[RS_THREADS];
    for (int i = 0; i < RS_THREADS; i++) {
        args[i].bucket = ctx->bucket;
        args[i].index = i;
        args[i].stop = &stop;
        assert_int_equal(pthread_create(&t[i], NULL, rs_main, &args[i]), 0);
    }
    kt_sleep_ms(300);
    assert_int_equal(ts_server_kill(g_server), 0);
    kt_sleep_ms(500);
    assert_int_equal(ts_server_start(g_server), 0);
    kt_sleep_ms(1500);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < RS_THREADS; i++) pthread_join(t[i], NULL);
    int calls = 0, ok = 0, other = 0;
    for (int i = 0; i < RS_THREADS; i++) {
        calls += args[i].calls;
        ok += args[i].ok;
        other += args[i].other;
    }
    print_message("blocking puts across a server restart: %d calls, %d OK, %d not OK\n", calls, ok, other);
    assert_int_equal(other, 0); /* resends within 8 s: every write ends with its real outcome */
    assert_true(ok > RS_THREADS);
    assert_int_equal(kvw_client_inflight(ctx->client), 0);
    /* Each thread's last OK put is what nats.c reads (a fresh connection). */
    kt_nats n;
    assert_int_equal(kt_nats_open(&n, ts_server_url(g_server)), 0);
    for (int i = 0; i < RS_THREADS; i++) {
        char key[16], *value = NULL;
        uint64_t rev = 0;
        snprintf(key, sizeof key, "rs%d", i);
        assert_int_equal(kt_nats_get(&n, ctx->bucket_name, key, &value, &rev), 0);
        assert_string_equal(value, key);
        assert_int_equal(rev, args[i].last_version);
        free(value);
    }
    kt_nats_close(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_op_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiter_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_mode_without_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_ends_blocking_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_threads_blocking, setup, teardown),
        /* Last: it restarts the suite's server. */
        cmocka_unit_test_setup_teardown(test_server_restart_under_blocking_calls, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
