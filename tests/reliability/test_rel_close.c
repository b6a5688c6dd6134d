/*
 * reliability/close: kvw_client_close and kvw_client_free racing thousands
 * of ops in flight, two threads submitting and callbacks running, in each
 * delivery mode (THREAD, POLL, LIBUV), called from another thread or from
 * inside a callback, with the server answering or stopped (SIGSTOP: every
 * op is still in flight when the close comes).
 *
 *   - every accepted op gets exactly one callback, refused ops none;
 *   - THREAD mode: a close from another thread returns after every
 *     callback ran;
 *   - POLL mode: kvw_client_poll ends with KVW_ECLOSED;
 *   - LIBUV mode: uv_run returns by itself and uv_loop_close returns 0;
 *   - nothing leaks (also run under ASan, TSan and valgrind).
 *
 * KVW_REL_CLOSE_ROUNDS repeats every case (default 3).
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
#include <uv.h>

#include <kvw/kvw_uv.h>

#include "rel.h"

enum { N = 6000, SUBMITTERS = 2, CLOSE_AT = 1500 };

static ts_server *g_server;
static int g_rounds = 3;

static int group_setup(void **state)
{
    (void)state;
    const char *r = getenv("KVW_REL_CLOSE_ROUNDS");
    if (r && atoi(r) > 0)
        g_rounds = atoi(r);
    g_server = ts_server_spawn(NULL);
    return g_server ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ts_server_free(g_server);
    return 0;
}

enum closer_kind { FROM_THREAD, FROM_CALLBACK };
enum close_how { BY_CLOSE, BY_FREE };

typedef struct scenario {
    kvw_delivery mode;
    enum closer_kind who;
    enum close_how how;
    int paused; /* server SIGSTOPped before the load: every op stays in flight */
} scenario;

typedef struct run {
    const scenario *sc;
    kvw_client *client;
    kvw_bucket *bucket;
    rel_load *load;
    int submitted;        /* atomic: ops tried by all submitters */
    int fired;            /* atomic: the close/free happened */
    int close_rc;         /* atomic */
    int inflight_at_close;
    long callbacks_after_close; /* THREAD mode, from another thread: when close returned */
    int freed;            /* atomic: the client handle is gone */
    int watchdog_fired;
} run;

typedef struct submitter {
    run *r;
    int first, count;
} submitter;

static void *submit_main(void *arg)
{
    submitter *s = arg;
    run *r = s->r;
    for (int id = s->first; id < s->first + s->count; id++) {
        kvw_op kind = id % 5 == 4 ? KVW_OP_GET : KVW_OP_PUT;
        int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
        int rc;
        while ((rc = rel_submit(r->bucket, r->load, id, kind)) == KVW_EBUSY && kt_now_ms() < dl)
            kt_sleep_ms(1);
        __atomic_add_fetch(&r->submitted, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

static void do_close(run *r)
{
    r->inflight_at_close = kvw_client_inflight(r->client);
    if (r->sc->how == BY_FREE) {
        kvw_client_free(r->client);
        __atomic_store_n(&r->freed, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&r->close_rc, 0, __ATOMIC_RELEASE);
    } else {
        __atomic_store_n(&r->close_rc, kvw_client_close(r->client), __ATOMIC_RELEASE);
    }
}

/* Inside a callback: close or free once CLOSE_AT callbacks have run. */
static void close_hook(rel_op *op, const kvw_result *res)
{
    (void)res;
    run *r = op->load->hook_data;
    if (kt_waiter_count(&op->load->done) + 1 >= CLOSE_AT &&
        __atomic_exchange_n(&r->fired, 1, __ATOMIC_ACQ_REL) == 0)
        do_close(r);
}

/* From another thread: once CLOSE_AT callbacks ran (server up) or half the
 * ops were submitted (server stopped: nothing completes). */
static void *closer_main(void *arg)
{
    run *r = arg;
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    if (r->sc->paused)
        while (__atomic_load_n(&r->submitted, __ATOMIC_ACQUIRE) < N / 2 && kt_now_ms() < dl)
            kt_sleep_ms(1);
    else
        kt_waiter_wait(&r->load->done, CLOSE_AT, KT_TIMEOUT_MS);
    __atomic_store_n(&r->fired, 1, __ATOMIC_RELEASE);
    do_close(r);
    if (r->sc->mode == KVW_DELIVERY_THREAD)
        r->callbacks_after_close = kt_waiter_count(&r->load->done);
    return NULL;
}

static void watchdog_cb(uv_timer_t *t)
{
    run *r = t->data;
    r->watchdog_fired = 1;
    uv_stop(t->loop);
}

static const char *mode_name(kvw_delivery m)
{
    return m == KVW_DELIVERY_THREAD ? "THREAD" : m == KVW_DELIVERY_POLL ? "POLL" : "LIBUV";
}

static void run_once(const scenario *sc, int round)
{
    run r;
    memset(&r, 0, sizeof r);
    r.sc = sc;
    uv_loop_t loop;
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = ts_server_url(g_server);
    o.name = "kvw-rel-close";
    o.max_inflight = N + 100;
    o.op_timeout_ms = 60000; /* nothing times out, under valgrind too: every op ends by ack or close */
    o.delivery = sc->mode;
    if (sc->mode == KVW_DELIVERY_LIBUV) {
        assert_int_equal(uv_loop_init(&loop), 0);
        kvw_client_options_use_uv(&o, &loop);
    }
    assert_int_equal(kvw_client_open(&r.client, &o), KVW_OK);
    char bucket[64];
    kt_unique_name(bucket, sizeof bucket, "close");
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    assert_int_equal(kvw_bucket_open(&r.bucket, r.client, bucket, &bo), KVW_OK);
    r.load = rel_load_new(N, "x");
    assert_non_null(r.load);
    if (sc->who == FROM_CALLBACK) {
        r.load->hook = close_hook;
        r.load->hook_data = &r;
    }

    if (sc->paused)
        assert_int_equal(ts_server_pause(g_server), 0);
    submitter subs[SUBMITTERS];
    pthread_t th[SUBMITTERS], closer;
    for (int i = 0; i < SUBMITTERS; i++) {
        subs[i] = (submitter){&r, i * (N / SUBMITTERS), N / SUBMITTERS};
        assert_int_equal(pthread_create(&th[i], NULL, submit_main, &subs[i]), 0);
    }
    if (sc->who == FROM_THREAD)
        assert_int_equal(pthread_create(&closer, NULL, closer_main, &r), 0);

    /* Deliver (POLL, LIBUV) on this thread until the client is done. */
    int64_t dl = kt_now_ms() + 2 * KT_TIMEOUT_MS;
    int poll_end = 0;
    if (sc->mode == KVW_DELIVERY_POLL) {
        while (kt_now_ms() < dl && !__atomic_load_n(&r.freed, __ATOMIC_ACQUIRE)) {
            int rc = kvw_client_poll(r.client, 50);
            if (rc == KVW_ECLOSED) {
                poll_end = rc;
                break;
            }
            assert_true(rc >= 0);
        }
        /* A free inside a callback ends delivery in that very poll. */
        if (__atomic_load_n(&r.freed, __ATOMIC_ACQUIRE))
            poll_end = KVW_ECLOSED;
    } else if (sc->mode == KVW_DELIVERY_LIBUV) {
        uv_timer_t wd;
        assert_int_equal(uv_timer_init(&loop, &wd), 0);
        wd.data = &r;
        assert_int_equal(uv_timer_start(&wd, watchdog_cb, 2 * KT_TIMEOUT_MS, 0), 0);
        uv_unref((uv_handle_t *)&wd); /* only kvw's handle keeps the loop running */
        uv_run(&loop, UV_RUN_DEFAULT); /* returns once kvw's handle is closed */
        uv_close((uv_handle_t *)&wd, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (r.watchdog_fired)
            print_error("uv_run did not return within %d ms of close\n", 2 * KT_TIMEOUT_MS);
        assert_false(r.watchdog_fired);
    }

    if (sc->who == FROM_THREAD)
        pthread_join(closer, NULL);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(th[i], NULL);
    if (sc->paused)
        assert_int_equal(ts_server_resume(g_server), 0);
    /* THREAD mode (and the others once delivery returned): all callbacks ran. */
    if (rel_wait_all(r.load, KT_TIMEOUT_MS) != 0)
        print_error("%ld callbacks\n", kt_waiter_count(&r.load->done));
    assert_int_equal(rel_wait_all(r.load, KT_TIMEOUT_MS), 0);

    rel_tally t;
    rel_tally_of(r.load, &t);
    char what[96];
    snprintf(what, sizeof what, "%s, %s from %s%s, round %d", mode_name(sc->mode),
             sc->how == BY_FREE ? "free" : "close", sc->who == FROM_THREAD ? "a thread" : "a callback",
             sc->paused ? ", server stopped" : "", round);
    rel_tally_print(what, &t);
    print_message("  in flight at the close: %d\n", r.inflight_at_close);
    assert_true(__atomic_load_n(&r.fired, __ATOMIC_ACQUIRE));
    assert_int_equal(__atomic_load_n(&r.close_rc, __ATOMIC_ACQUIRE), 0);
    rel_assert_exactly_once(r.load);
    assert_int_equal(t.submitted, N);
    for (int i = 0; i < N; i++) {
        rel_op *op = &r.load->ops[i];
        if (op->submit_rc != 0) {
            if (op->submit_rc != KVW_ECLOSED)
                print_error("op %d refused with %s\n", i, kvw_err_name(op->submit_rc));
            assert_int_equal(op->submit_rc, KVW_ECLOSED);
            continue;
        }
        int ok = op->status == KVW_OK || op->status == KVW_ECLOSED ||
                 (i % 5 == 4 && op->status == KVW_ENOTFOUND);
        if (sc->paused)
            ok = op->status == KVW_ECLOSED;
        if (!ok)
            print_error("op %d ended with %s\n", i, kvw_err_name(op->status));
        assert_true(ok);
    }
    assert_true(t.by_status[-KVW_ECLOSED] > 0 || !sc->paused);
    if (sc->paused)
        assert_true(r.inflight_at_close >= 1000);
    if (sc->mode == KVW_DELIVERY_THREAD && sc->who == FROM_THREAD)
        assert_int_equal(r.callbacks_after_close, t.accepted); /* close waited for them */
    if (sc->mode == KVW_DELIVERY_POLL && !__atomic_load_n(&r.freed, __ATOMIC_ACQUIRE))
        assert_int_equal(poll_end, KVW_ECLOSED);

    if (!__atomic_load_n(&r.freed, __ATOMIC_ACQUIRE)) {
        /* Idempotent; from this thread it also waits until the last callback
         * has returned (THREAD mode, closed from a callback: rel_wait_all
         * only saw the last one start), so the count must then be 0. */
        assert_int_equal(kvw_client_close(r.client), 0);
        assert_int_equal(kvw_client_inflight(r.client), 0);
        kvw_client_free(r.client);
    }
    kvw_bucket_free(r.bucket);
    if (sc->mode == KVW_DELIVERY_LIBUV) {
        uv_run(&loop, UV_RUN_DEFAULT); /* nothing left: returns at once */
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    rel_load_free(r.load);
}

static void run_case(kvw_delivery mode, enum closer_kind who, enum close_how how, int paused)
{
    scenario sc = {mode, who, how, paused};
    for (int round = 1; round <= g_rounds; round++)
        run_once(&sc, round);
}

static int teardown(void **state)
{
    (void)state;
    ts_server_resume(g_server);
    return 0;
}

#define CASE(name, mode, who, how, paused)                                      \
    static void name(void **state)                                             \
    {                                                                          \
        (void)state;                                                           \
        run_case(mode, who, how, paused);                                      \
    }

CASE(test_thread_close_from_thread, KVW_DELIVERY_THREAD, FROM_THREAD, BY_CLOSE, 0)
CASE(test_thread_close_from_thread_stopped, KVW_DELIVERY_THREAD, FROM_THREAD, BY_CLOSE, 1)
CASE(test_thread_free_from_thread, KVW_DELIVERY_THREAD, FROM_THREAD, BY_FREE, 0)
CASE(test_thread_close_from_callback, KVW_DELIVERY_THREAD, FROM_CALLBACK, BY_CLOSE, 0)
CASE(test_thread_free_from_callback, KVW_DELIVERY_THREAD, FROM_CALLBACK, BY_FREE, 0)
CASE(test_poll_close_from_thread, KVW_DELIVERY_POLL, FROM_THREAD, BY_CLOSE, 0)
CASE(test_poll_close_from_thread_stopped, KVW_DELIVERY_POLL, FROM_THREAD, BY_CLOSE, 1)
CASE(test_poll_close_from_callback, KVW_DELIVERY_POLL, FROM_CALLBACK, BY_CLOSE, 0)
CASE(test_poll_free_from_callback, KVW_DELIVERY_POLL, FROM_CALLBACK, BY_FREE, 0)
CASE(test_uv_close_from_thread, KVW_DELIVERY_LIBUV, FROM_THREAD, BY_CLOSE, 0)
CASE(test_uv_free_from_thread_stopped, KVW_DELIVERY_LIBUV, FROM_THREAD, BY_FREE, 1)
CASE(test_uv_close_from_callback, KVW_DELIVERY_LIBUV, FROM_CALLBACK, BY_CLOSE, 0)
CASE(test_uv_free_from_callback, KVW_DELIVERY_LIBUV, FROM_CALLBACK, BY_FREE, 0)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_thread_close_from_thread, teardown),
        cmocka_unit_test_teardown(test_thread_close_from_thread_stopped, teardown),
        cmocka_unit_test_teardown(test_thread_free_from_thread, teardown),
        cmocka_unit_test_teardown(test_thread_close_from_callback, teardown),
        cmocka_unit_test_teardown(test_thread_free_from_callback, teardown),
        cmocka_unit_test_teardown(test_poll_close_from_thread, teardown),
        cmocka_unit_test_teardown(test_poll_close_from_thread_stopped, teardown),
        cmocka_unit_test_teardown(test_poll_close_from_callback, teardown),
        cmocka_unit_test_teardown(test_poll_free_from_callback, teardown),
        cmocka_unit_test_teardown(test_uv_close_from_thread, teardown),
        cmocka_unit_test_teardown(test_uv_free_from_thread_stopped, teardown),
        cmocka_unit_test_teardown(test_uv_close_from_callback, teardown),
        cmocka_unit_test_teardown(test_uv_free_from_callback, teardown),
    };
    return cmocka_run_group_tests_name("reliability/close", tests, group_setup, group_teardown);
}
