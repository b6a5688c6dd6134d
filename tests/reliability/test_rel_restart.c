/*
 * reliability/restart: the server dies in the middle of a stream of async
 * puts and comes back on the same port with the same store.
 *
 *   - every accepted op gets exactly one callback (counted per op id);
 *   - every write reported OK is in the bucket afterwards, with its value at
 *     the version it was reported with (read back with nats.c's KV API);
 *   - writes reported "outcome unknown" are present (intact) or absent;
 *     writes that failed with a definite error, or were refused, are absent;
 *   - the client reconnects by itself and new writes succeed.
 *
 *   - with resends (the default), no op ends outcome-unknown or "not
 *     connected" before its deadline has passed.
 *
 * KVW_REL_RESTART_OPS overrides the number of puts (default 100000);
 * KVW_REL_RESEND_AFTER_MS sets the client's resend_after_ms (-1: none, the
 * figures "before" resends).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvw/kvw.h>

#include "rel.h"

typedef struct fixture {
    ts_server *server;
    kvw_client *client;
    kvw_bucket *bucket;
    char bucket_name[64];
    rel_load *load;
    rel_load *after;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->server = ts_server_spawn(NULL);
    if (!f->server) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kvw_bucket_free(f->bucket);
    kvw_client_free(f->client); /* THREAD mode: waits for every callback */
    rel_load_free(f->load);
    rel_load_free(f->after);
    ts_server_free(f->server);
    free(f);
    return 0;
}

static int ops_from_env(void)
{
    const char *v = getenv("KVW_REL_RESTART_OPS");
    int n = v ? atoi(v) : 0;
    return n > 0 ? n : 100000;
}

typedef struct submitter {
    kvw_bucket *bucket;
    rel_load *load;
    int accepted;
    long refused[32];
} submitter;

static void *submit_main(void *p)
{
    submitter *s = p;
    s->accepted = rel_put_range(s->bucket, s->load, 0, s->load->n, kt_now_ms() + 120000, s->refused);
    return NULL;
}

static void print_refusals(const long *refused)
{
    for (int c = 0; c < 32; c++)
        if (refused[c])
            print_message("  submit refused with %s: %ld times (retried)\n", kvw_err_name(-c),
                          refused[c]);
}

static void run_restart(fixture *f, int sig)
{
    const int n = ops_from_env();
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = ts_server_url(f->server);
    o.name = "kvw-rel-restart";
    o.op_timeout_ms = 3000;
    o.max_reconnect = -1;
    o.reconnect_wait_ms = 100;
    const char *resend = getenv("KVW_REL_RESEND_AFTER_MS");
    o.resend_after_ms = resend ? atoll(resend) : 0;
    assert_int_equal(kvw_client_open(&f->client, &o), KVW_OK);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 4; /* one record per key is expected: a second one would show */
    bo.storage = KVW_STORAGE_FILE;
    kt_unique_name(f->bucket_name, sizeof f->bucket_name, sig == SIGKILL ? "rkill" : "rterm");
    assert_int_equal(kvw_bucket_open(&f->bucket, f->client, f->bucket_name, &bo), KVW_OK);

    f->load = rel_load_new(n, "r");
    assert_non_null(f->load);
    submitter sub = {f->bucket, f->load, 0, {0}};
    int64_t t0 = kt_now_ms();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_main, &sub), 0);

    /* Halfway through the submissions: the fault. */
    int64_t dl = kt_now_ms() + 60000;
    while (__atomic_load_n(&f->load->next_id, __ATOMIC_ACQUIRE) < n / 2 && kt_now_ms() < dl)
        kt_sleep_ms(1);
    long cb_at_fault = kt_waiter_count(&f->load->done);
    int at = __atomic_load_n(&f->load->next_id, __ATOMIC_ACQUIRE);
    int64_t tf = kt_now_ms();
    assert_int_equal(sig == SIGKILL ? ts_server_kill(f->server) : ts_server_stop(f->server), 0);
    kt_sleep_ms(500); /* the outage: submissions go on */
    assert_int_equal(ts_server_start(f->server), 0);
    int64_t tr = kt_now_ms();
    print_message("%s at op %d (%ld callbacks so far, %lld ms into the run); back after %lld ms\n",
                  sig == SIGKILL ? "SIGKILL" : "SIGTERM", at, cb_at_fault, (long long)(tf - t0),
                  (long long)(tr - tf));

    pthread_join(th, NULL);
    int64_t ts = kt_now_ms();
    if (rel_wait_all(f->load, 60000) != 0)
        print_error("only %ld callbacks for %d accepted ops after 60 s\n",
                    kt_waiter_count(&f->load->done), sub.accepted);
    int64_t td = kt_now_ms();
    rel_tally t;
    rel_tally_of(f->load, &t);
    rel_tally_print("restart load", &t);
    print_refusals(sub.refused);
    print_message("submitting took %lld ms, the last callbacks %lld ms more\n",
                  (long long)(ts - t0), (long long)(td - ts));
    assert_int_equal(t.submitted, n);
    assert_int_equal(t.accepted, n); /* refusals were retried until accepted */
    rel_assert_exactly_once(f->load);
    assert_true(t.ok > 0);
    /* Ops are only refused while the window is full or no server is reachable. */
    for (int c = 0; c < 32; c++)
        if (sub.refused[c] && -c != KVW_EBUSY && -c != KVW_ENOTCONN) {
            print_error("submit refused with %s\n", kvw_err_name(-c));
            fail();
        }

    /* The window drained. */
    dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (kvw_client_inflight(f->client) != 0 && kt_now_ms() < dl)
        kt_sleep_ms(1);
    assert_int_equal(kvw_client_inflight(f->client), 0);

    /* The same client writes again: all of these must succeed. */
    enum { AFTER = 1000 };
    f->after = rel_load_new(AFTER, "after");
    assert_non_null(f->after);
    assert_int_equal(rel_put_range(f->bucket, f->after, 0, AFTER, kt_now_ms() + 30000, NULL), AFTER);
    assert_int_equal(rel_wait_all(f->after, 30000), 0);
    rel_assert_exactly_once(f->after);
    rel_tally ta;
    rel_tally_of(f->after, &ta);
    rel_tally_print("after the restart", &ta);
    assert_int_equal(ta.ok, AFTER);

    /* Close first: nothing of kvw's is in flight while the bucket is read. */
    assert_int_equal(kvw_client_close(f->client), 0);
    int64_t tv = kt_now_ms();
    rel_verify_stats v;
    rel_load *loads[] = {f->load, f->after};
    assert_int_equal(rel_verify(ts_server_url(f->server), f->bucket_name, loads, 2, 1, &v), 0);
    print_message("verification took %lld ms\n", (long long)(kt_now_ms() - tv));
    rel_verify_print("restart load + writes after", &v);
    rel_assert_verified(&v);
    assert_int_equal(v.ok_verified, t.ok + AFTER);
    assert_int_equal(v.ok_revision_read, t.ok + AFTER);
    assert_int_equal(v.unknown_present + v.unknown_absent, t.unknown);
    const int early = rel_early_failures(f->load, o.op_timeout_ms);
    rel_print_early_failures(f->load, o.op_timeout_ms, 5);
    if (o.resend_after_ms != KVW_RESEND_NEVER)
        assert_int_equal(early, 0);
    print_message("FIGURES restart(%s): ops %d, faults 1, callbacks %ld (+%ld after), OK %d, "
                  "outcome-unknown %d (%d present, %d absent), failed %d, writes verified %d "
                  "(incl. %d after), duplicated %d, resends %s\n",
                  sig == SIGKILL ? "SIGKILL" : "SIGTERM", n, t.callbacks, ta.callbacks, t.ok,
                  t.unknown, v.unknown_present, v.unknown_absent, t.failed, v.ok_verified,
                  AFTER, v.duplicated, o.resend_after_ms == KVW_RESEND_NEVER ? "off" : "on");
}

static void test_restart_sigkill(void **state) { run_restart(*state, SIGKILL); }
static void test_restart_sigterm(void **state) { run_restart(*state, SIGTERM); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_sigkill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_sigterm, setup, teardown),
    };
    return cmocka_run_group_tests_name("reliability/restart", tests, NULL, NULL);
}
