/*
 * reliability/stall: a server that stops answering (SIGSTOP) or answers in
 * fits and starts (SIGSTOP/SIGCONT cycles) while ops are in flight.
 *
 *   - ops end with KVW_ETIMEDOUT (writes: outcome unknown), each exactly once,
 *     also when the late acks arrive after SIGCONT;
 *   - the in-flight window frees: kvw_client_inflight() returns to 0 and new
 *     submits are accepted while the server is still stopped;
 *   - after SIGCONT new ops succeed; timed-out writes are present (intact) or
 *     absent; nothing leaks (this suite also runs under ASan and valgrind).
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

#include "rel.h"

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

#define MAX_LOADS 8

typedef struct fixture {
    kvw_client *client;
    kvw_bucket *bucket;
    char bucket_name[64];
    rel_load *loads[MAX_LOADS];
    int nloads;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    return f ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_server_resume(g_server); /* a failed test must not leave it stopped */
    kvw_bucket_free(f->bucket);
    kvw_client_free(f->client);
    for (int i = 0; i < f->nloads; i++)
        rel_load_free(f->loads[i]);
    free(f);
    return 0;
}

static rel_load *new_load(fixture *f, int n, const char *prefix)
{
    assert_true(f->nloads < MAX_LOADS);
    rel_load *l = rel_load_new(n, prefix);
    assert_non_null(l);
    f->loads[f->nloads++] = l;
    return l;
}

static int64_t g_connect_timeout_ms = 2000;

static void open_client(fixture *f, int64_t op_timeout_ms, uint32_t max_inflight, const char *prefix)
{
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.connect_timeout_ms = g_connect_timeout_ms;
    o.servers = ts_server_url(g_server);
    o.name = "kvw-rel-stall";
    o.op_timeout_ms = op_timeout_ms;
    o.max_inflight = max_inflight;
    o.max_reconnect = -1;
    o.reconnect_wait_ms = 100;
    assert_int_equal(kvw_client_open(&f->client, &o), KVW_OK);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 4;
    kt_unique_name(f->bucket_name, sizeof f->bucket_name, prefix);
    assert_int_equal(kvw_bucket_open(&f->bucket, f->client, f->bucket_name, &bo), KVW_OK);
}

static void wait_inflight_zero(kvw_client *c, int timeout_ms)
{
    int64_t dl = kt_now_ms() + timeout_ms;
    while (kvw_client_inflight(c) != 0 && kt_now_ms() < dl)
        kt_sleep_ms(1); /* counts drop just after each callback returns: nothing to wait on */
    if (kvw_client_inflight(c) != 0)
        print_error("kvw_client_inflight stuck at %d\n", kvw_client_inflight(c));
    assert_int_equal(kvw_client_inflight(c), 0);
}

/* Every accepted op of `l` ended with one of `ok` (n of them). */
static void assert_outcomes(rel_load *l, const int *ok, int n)
{
    for (int i = 0; i < l->n; i++) {
        if (l->ops[i].submit_rc != 0)
            continue;
        int found = 0;
        for (int k = 0; k < n; k++)
            found |= l->ops[i].status == ok[k];
        if (!found) {
            print_error("%s.%d: unexpected status %s\n", l->prefix, i,
                        kvw_err_name(l->ops[i].status));
            fail();
        }
    }
}

static void puts_all_ok(fixture *f, rel_load *l)
{
    assert_int_equal(rel_put_range(f->bucket, l, 0, l->n, kt_now_ms() + KT_TIMEOUT_MS, NULL), l->n);
    assert_int_equal(rel_wait_all(l, KT_TIMEOUT_MS), 0);
    rel_assert_exactly_once(l);
    rel_tally t;
    rel_tally_of(l, &t);
    assert_int_equal(t.ok, l->n);
}

/* ------------------------------------------------------------- stopped */

static void test_stopped_server_ops_time_out(void **state)
{
    fixture *f = *state;
    enum { WINDOW = 1000, PUTS = 600, CREATES = 200, GETS = 200, TIMEOUT = 500 };
    open_client(f, TIMEOUT, WINDOW, "stall");
    rel_load *warm = new_load(f, 200, "w");
    puts_all_ok(f, warm);

    rel_load *p = new_load(f, PUTS, "p");
    rel_load *c = new_load(f, CREATES, "c");
    rel_load *g = new_load(f, GETS, "g");
    rel_load *late = new_load(f, 1, "late");
    assert_int_equal(ts_server_pause(g_server), 0);
    int64_t t0 = kt_now_ms(), worst = 0;
    for (int i = 0; i < PUTS; i++) {
        int64_t s = kt_now_ms();
        assert_int_equal(rel_submit(f->bucket, p, i, KVW_OP_PUT), 0);
        if (i < CREATES)
            assert_int_equal(rel_submit(f->bucket, c, i, KVW_OP_CREATE), 0);
        if (i < GETS)
            assert_int_equal(rel_submit(f->bucket, g, i, KVW_OP_GET), 0);
        if (kt_now_ms() - s > worst)
            worst = kt_now_ms() - s;
    }
    /* The window is full: refused at once, no callback. */
    assert_int_equal(kvw_client_inflight(f->client), WINDOW);
    assert_int_equal(rel_submit(f->bucket, late, 0, KVW_OP_PUT), KVW_EBUSY);
    print_message("%d ops submitted to a stopped server in %lld ms (slowest submit %lld ms)\n",
                  WINDOW, (long long)(kt_now_ms() - t0), (long long)worst);
    assert_true(worst < 1000); /* submits do not wait for the server */

    /* Everything times out while the server is still stopped. */
    rel_load *all[] = {p, c, g};
    for (int k = 0; k < 3; k++) {
        if (rel_wait_all(all[k], KT_TIMEOUT_MS) != 0)
            print_error("%s: %ld of %d callbacks\n", all[k]->prefix, kt_waiter_count(&all[k]->done),
                        all[k]->n);
        assert_int_equal(rel_wait_all(all[k], KT_TIMEOUT_MS), 0);
    }
    int64_t took = kt_now_ms() - t0;
    static const int tmo[] = {KVW_ETIMEDOUT};
    for (int k = 0; k < 3; k++) {
        rel_assert_exactly_once(all[k]);
        assert_outcomes(all[k], tmo, 1);
    }
    assert_true(kvw_err_outcome_unknown(KVW_ETIMEDOUT));
    assert_true(took >= TIMEOUT - 50);
    print_message("all %d timed out after %lld ms (op_timeout_ms %d)\n", WINDOW, (long long)took,
                  TIMEOUT);

    /* The window is free again, with the server still stopped. */
    wait_inflight_zero(f->client, KT_TIMEOUT_MS);
    assert_int_equal(rel_submit(f->bucket, late, 0, KVW_OP_PUT), 0);
    assert_int_equal(rel_wait_all(late, KT_TIMEOUT_MS), 0);
    assert_outcomes(late, tmo, 1);
    wait_inflight_zero(f->client, KT_TIMEOUT_MS);

    /* SIGCONT: the server now handles what was sent and acks it, late.
     * Those acks must not run any callback a second time. */
    assert_int_equal(ts_server_resume(g_server), 0);
    rel_load *after = new_load(f, 500, "a");
    puts_all_ok(f, after);
    kt_sleep_ms(2 * TIMEOUT); /* room for stragglers */
    for (int k = 0; k < 3; k++)
        rel_assert_exactly_once(all[k]);
    rel_assert_exactly_once(late);
    assert_int_equal(kvw_client_inflight(f->client), 0);

    assert_int_equal(kvw_client_close(f->client), 0);
    rel_load *written[] = {warm, p, c, late, after};
    rel_verify_stats v;
    assert_int_equal(rel_verify(ts_server_url(g_server), f->bucket_name, written, 5, 1, &v), 0);
    rel_verify_print("stopped server", &v);
    rel_assert_verified(&v);
    assert_int_equal(v.ok_verified, 200 + 500);
    assert_int_equal(v.unknown_present + v.unknown_absent, PUTS + CREATES + 1);
    print_message("FIGURES stall(stopped): ops %d (+%d around it), faults 1 (SIGSTOP ~%lld ms), "
                  "callbacks %d timed out + %d OK, timed-out writes %d present / %d absent, writes "
                  "verified %d\n",
                  WINDOW + 1, 200 + 500, (long long)took, WINDOW + 1, 200 + 500, v.unknown_present,
                  v.unknown_absent, v.ok_verified);
}

/* ---------------------------------------------------------------- slow */

typedef struct submitter {
    kvw_bucket *bucket;
    rel_load *load;
    long refused[32];
} submitter;

static void *submit_main(void *arg)
{
    submitter *s = arg;
    rel_put_range(s->bucket, s->load, 0, s->load->n, kt_now_ms() + 60000, s->refused);
    return NULL;
}

static void test_stop_start_cycles(void **state)
{
    fixture *f = *state;
    enum { TIMEOUT = 400, N = 18000, RATE = 3000 };
    open_client(f, TIMEOUT, 2000, "slow");
    rel_load *l = new_load(f, N, "s");
    l->rate_per_s = RATE;
    submitter sub = {f->bucket, l, {0}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_main, &sub), 0);

    /* A server that answers in fits and starts: stopped 600 ms, running 300 ms. */
    int cycles = 0;
    kt_sleep_ms(300);
    while (__atomic_load_n(&l->next_id, __ATOMIC_ACQUIRE) < N * 9 / 10 && cycles < 20) {
        assert_int_equal(ts_server_pause(g_server), 0);
        kt_sleep_ms(600);
        assert_int_equal(ts_server_resume(g_server), 0);
        kt_sleep_ms(300);
        cycles++;
    }
    pthread_join(th, NULL);
    assert_int_equal(rel_wait_all(l, KT_TIMEOUT_MS), 0);
    rel_tally t;
    rel_tally_of(l, &t);
    rel_tally_print("stop/start cycles", &t);
    for (int code = 0; code < 32; code++)
        if (sub.refused[code])
            print_message("  submit refused with %s: %ld times (retried)\n", kvw_err_name(-code),
                          sub.refused[code]);
    rel_assert_exactly_once(l);
    assert_int_equal(t.accepted, N);
    static const int ok[] = {KVW_OK, KVW_ETIMEDOUT};
    assert_outcomes(l, ok, 2);
    assert_true(t.ok > 0);
    assert_true(t.by_status[-KVW_ETIMEDOUT] > 0);
    wait_inflight_zero(f->client, KT_TIMEOUT_MS);

    rel_load *after = new_load(f, 500, "a");
    puts_all_ok(f, after);
    kt_sleep_ms(2 * TIMEOUT);
    rel_assert_exactly_once(l);

    assert_int_equal(kvw_client_close(f->client), 0);
    rel_load *written[] = {l, after};
    rel_verify_stats v;
    assert_int_equal(rel_verify(ts_server_url(g_server), f->bucket_name, written, 2, 1, &v), 0);
    rel_verify_print("stop/start cycles", &v);
    rel_assert_verified(&v);
    assert_int_equal(v.ok_verified, t.ok + 500);
    print_message("FIGURES stall(cycles): ops %d (+500 after), faults %d (SIGSTOP 600 ms / SIGCONT "
                  "300 ms), callbacks %ld, OK %d, timed out %d (%d present, %d absent), writes "
                  "verified %d\n",
                  N, cycles, t.callbacks, t.ok, t.by_status[-KVW_ETIMEDOUT], v.unknown_present,
                  v.unknown_absent, v.ok_verified);
}

/* ------------------------------------------------- stalled socket */

typedef struct flood {
    kvw_bucket *bucket;
    rel_load *load;
    int64_t worst_ms;  /* slowest single submit */
    int worst_id;
    int slow;          /* submits that took >= 50 ms */
    int64_t slow_ms;   /* time spent in those */
    long refused[32];
    int done;          /* atomic */
} flood;

static void *flood_main(void *arg)
{
    flood *fl = arg;
    for (int i = 0; i < fl->load->n; i++) {
        int64_t t = kt_now_ms();
        int rc = rel_submit(fl->bucket, fl->load, i, KVW_OP_PUT);
        int64_t d = kt_now_ms() - t;
        if (d > fl->worst_ms) {
            fl->worst_ms = d;
            fl->worst_id = i;
        }
        if (d >= 50) {
            if (fl->slow++ < 5)
                print_message("  submit %d took %lld ms (%s)\n", i, (long long)d, kvw_err_name(rc));
            fl->slow_ms += d;
        }
        if (rc != 0 && -rc < 32)
            fl->refused[-rc]++;
    }
    __atomic_store_n(&fl->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/*
 * More data in flight than the kernel's socket buffers hold, to a server
 * that reads nothing: nats.c writes to the socket on the submitting thread
 * once its 32 KiB buffer is full, so without a write deadline kvw_put would
 * block in send() for as long as the server stays stopped (and close, which
 * needs the same connection lock, with it).
 */
static void test_stalled_socket_does_not_block_submitters(void **state)
{
    fixture *f = *state;
    enum { TIMEOUT = 1000, CONNECT = 1000, N = 6000, VALUE = 8192 }; /* ~48 MiB */
    g_connect_timeout_ms = CONNECT;
    open_client(f, TIMEOUT, N, "sock");
    g_connect_timeout_ms = 2000;
    rel_load *l = new_load(f, N, "big");
    l->value_len = VALUE;
    assert_int_equal(ts_server_pause(g_server), 0);
    flood fl = {f->bucket, l, 0, 0, 0, 0, {0}, 0};
    pthread_t th;
    int64_t t0 = kt_now_ms();
    assert_int_equal(pthread_create(&th, NULL, flood_main, &fl), 0);
    /* A hang detector only (each submit is bounded, see below; valgrind is slow). */
    int64_t dl = t0 + 60000;
    while (!__atomic_load_n(&fl.done, __ATOMIC_ACQUIRE) && kt_now_ms() < dl)
        kt_sleep_ms(10);
    int finished = __atomic_load_n(&fl.done, __ATOMIC_ACQUIRE);
    int at = __atomic_load_n(&l->next_id, __ATOMIC_ACQUIRE);
    if (!finished) {
        /* Unblock the submitter (SIGCONT lets the socket drain) so the test ends. */
        print_error("the submitting thread is stuck in a submit after %lld ms\n",
                    (long long)(kt_now_ms() - t0));
        ts_server_resume(g_server);
    }
    pthread_join(th, NULL);
    (void)at;
    rel_tally t;
    rel_tally_of(l, &t);
    rel_tally_print("flood of a stopped server", &t);
    for (int code = 0; code < 32; code++)
        if (fl.refused[code])
            print_message("  submit refused with %s: %ld times\n", kvw_err_name(-code),
                          fl.refused[code]);
    print_message("%d submits took %lld ms; slowest: op %d, %lld ms; %d took >= 50 ms (%lld ms in "
                  "all)\n",
                  N, (long long)(kt_now_ms() - t0), fl.worst_id, (long long)fl.worst_ms, fl.slow,
                  (long long)fl.slow_ms);
    assert_true(finished);
    /*
     * Bounded: by the write deadline (op_timeout_ms), and while nats.c tries
     * to reconnect to the stopped server, by its connect timeout (it holds the
     * connection lock during the attempt). Plus scheduling slack.
     */
    assert_true(fl.worst_ms <= (TIMEOUT > CONNECT ? TIMEOUT : CONNECT) + 1000);
    /* Refusals say why and that a retry may help. */
    for (int code = 0; code < 32; code++)
        if (fl.refused[code] && !kvw_err_is_retryable(-code)) {
            print_error("submit refused with %s, which is not retryable\n", kvw_err_name(-code));
            fail();
        }

    /* Every accepted op completes (the server is still stopped) and the window frees. */
    assert_int_equal(rel_wait_all(l, KT_TIMEOUT_MS), 0);
    rel_assert_exactly_once(l);
    rel_tally_of(l, &t);
    static const int tmo[] = {KVW_ETIMEDOUT};
    assert_outcomes(l, tmo, 1);
    wait_inflight_zero(f->client, KT_TIMEOUT_MS);

    assert_int_equal(ts_server_resume(g_server), 0);
    /* The client gets its connection back by itself; new writes succeed. */
    rel_load *after = new_load(f, 200, "a");
    int64_t rdl = kt_now_ms() + 15000;
    int first_ok = -1;
    for (int i = 0; i < after->n && kt_now_ms() < rdl; i++) {
        if (rel_put_range(f->bucket, after, i, 1, rdl, NULL) != 1)
            break;
        if (first_ok < 0) {
            assert_int_equal(kt_waiter_wait(&after->done, i + 1, KT_TIMEOUT_MS), 0);
            if (after->ops[i].status == KVW_OK)
                first_ok = i;
            else
                kt_sleep_ms(100); /* reconnecting: try again shortly */
        }
    }
    assert_int_equal(rel_wait_all(after, KT_TIMEOUT_MS), 0);
    rel_assert_exactly_once(after);
    rel_tally ta;
    rel_tally_of(after, &ta);
    rel_tally_print("after SIGCONT", &ta);
    assert_true(first_ok >= 0);
    for (int i = first_ok; i < after->n; i++)
        assert_int_equal(after->ops[i].status, KVW_OK);
    kt_sleep_ms(TIMEOUT);
    rel_assert_exactly_once(l);

    assert_int_equal(kvw_client_close(f->client), 0);
    rel_load *written[] = {l, after};
    rel_verify_stats v;
    assert_int_equal(rel_verify(ts_server_url(g_server), f->bucket_name, written, 2, 1, &v), 0);
    rel_verify_print("flood", &v);
    rel_assert_verified(&v);
    print_message("FIGURES stall(socket): ops %d x %d bytes, faults 1 (SIGSTOP), accepted %d, "
                  "refused %d, callbacks %ld, timed out %d (%d present, %d absent), slowest submit "
                  "%lld ms (%d submits >= 50 ms, %lld ms in all), writes verified %d\n",
                  N, VALUE, t.accepted, t.refused, t.callbacks, t.unknown, v.unknown_present,
                  v.unknown_absent, (long long)fl.worst_ms, fl.slow, (long long)fl.slow_ms,
                  v.ok_verified);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stopped_server_ops_time_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_start_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_socket_does_not_block_submitters, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("reliability/stall", tests, group_setup, group_teardown);
}
