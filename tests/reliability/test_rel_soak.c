/*
 * reliability/soak: bounded in time (KVW_SOAK_SECONDS, default 60; 10 under
 * a sanitizer), half of it repeated open / put / get / close / free cycles
 * (rotating THREAD, POLL and LIBUV delivery), half a continuous paced put
 * load on one client. Across both:
 *
 *   - open descriptors (/proc/self/fd) and threads (/proc/self/task) come
 *     back to their warmed-up baseline after every cycle and stay flat
 *     under the load;
 *   - resident memory (VmRSS) stays within a bound (not checked under a
 *     sanitizer, whose allocator changes the picture; leaks are then found
 *     by the sanitizer itself);
 *   - every accepted op gets exactly one callback, and all succeed.
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

#include <kvw/kvw.h>
#include <uv.h>

#include <kvw/kvw_uv.h>

#include "rel.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Growth of VmRSS allowed over the warmed-up baseline, per phase. A leak of
 * ~100 bytes per op (or ~50 KiB per client cycle) crosses it within a minute. */
#define RSS_SLACK_KB (16 * 1024)
/* Extra threads allowed for a moment after a free: nats.c ends some of a
 * connection's threads (subscription dispatchers) just after Destroy returns. */
#define SETTLE_MS 3000

static ts_server *g_server;
static int g_seconds;

static int group_setup(void **state)
{
    (void)state;
    g_seconds = rel_env_seconds("KVW_SOAK_SECONDS", SANITIZED ? 10 : 60);
    g_server = ts_server_spawn(NULL);
    return g_server ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ts_server_free(g_server);
    return 0;
}

typedef struct counters {
    long accepted;  /* test thread only */
    long callbacks; /* atomic */
    long failed;    /* atomic: callbacks with a status other than OK */
    int first_bad;  /* atomic */
} counters;

static void count_cb(const kvw_result *r, void *ud)
{
    counters *c = ud;
    if (r->status != KVW_OK) {
        __atomic_add_fetch(&c->failed, 1, __ATOMIC_RELAXED);
        int zero = 0;
        __atomic_compare_exchange_n(&c->first_bad, &zero, r->status, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&c->callbacks, 1, __ATOMIC_RELEASE);
}

static long cb_count(counters *c) { return __atomic_load_n(&c->callbacks, __ATOMIC_ACQUIRE); }

typedef struct gauges {
    long rss_kb;
    int fds, threads;
} gauges;

static gauges sample(void)
{
    gauges g = {rel_rss_kb(), rel_fd_count(), rel_thread_count()};
    return g;
}

/* Waits (bounded) for fds and threads to come down to the baseline. */
static gauges settle(const gauges *base)
{
    int64_t dl = kt_now_ms() + SETTLE_MS;
    gauges g = sample();
    while ((g.fds > base->fds || g.threads > base->threads) && kt_now_ms() < dl) {
        kt_sleep_ms(5); /* other threads winding down: nothing to wait on */
        g = sample();
    }
    return g;
}

static const char *g_bucket = "soak";

static void open_client(kvw_client **c, kvw_bucket **b, kvw_delivery mode, uv_loop_t *loop)
{
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = ts_server_url(g_server);
    o.name = "kvw-rel-soak";
    o.delivery = mode;
    if (mode == KVW_DELIVERY_LIBUV)
        kvw_client_options_use_uv(&o, loop);
    assert_int_equal(kvw_client_open(c, &o), KVW_OK);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 1;
    assert_int_equal(kvw_bucket_open(b, *c, g_bucket, &bo), KVW_OK);
}

static int submit_put(kvw_bucket *b, long n, counters *c)
{
    char key[32], val[64];
    snprintf(key, sizeof key, "k.%ld", n % 1000);
    int len = snprintf(val, sizeof val, "value %ld of the soak", n);
    int rc;
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while ((rc = kvw_put(b, key, val, (size_t)len, count_cb, c)) == KVW_EBUSY && kt_now_ms() < dl)
        kt_sleep_ms(1);
    if (rc == 0)
        c->accepted++;
    return rc;
}

/* Runs callbacks (as the delivery mode wants) until every accepted op had its own. */
static void wait_callbacks(kvw_delivery mode, kvw_client *cl, uv_loop_t *loop, counters *c)
{
    const long want = c->accepted;
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (cb_count(c) < want && kt_now_ms() < dl) {
        if (mode == KVW_DELIVERY_POLL)
            assert_true(kvw_client_poll(cl, 100) >= 0);
        else if (mode == KVW_DELIVERY_LIBUV)
            uv_run(loop, UV_RUN_ONCE);
        else
            kt_sleep_ms(1);
    }
    assert_int_equal(cb_count(c), want);
}

/* One client's life: open, 200 puts, then 20 gets, wait, close, free. */
static void one_cycle(kvw_delivery mode, long cycle, counters *c)
{
    uv_loop_t loop;
    if (mode == KVW_DELIVERY_LIBUV)
        assert_int_equal(uv_loop_init(&loop), 0);
    kvw_client *cl = NULL;
    kvw_bucket *b = NULL;
    open_client(&cl, &b, mode, &loop);
    for (int i = 0; i < 200; i++)
        assert_int_equal(submit_put(b, cycle * 200 + i, c), 0);
    /* The gets after the puts have completed: on nats-server 2.10+ a read
     * can overtake a write still in flight (kvw.h, THREADS). */
    wait_callbacks(mode, cl, &loop, c);
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "k.%d", i);
        assert_int_equal(kvw_get(b, key, count_cb, c), 0);
        c->accepted++;
    }
    wait_callbacks(mode, cl, &loop, c);
    kvw_bucket_free(b);
    assert_int_equal(kvw_client_close(cl), 0);
    if (mode == KVW_DELIVERY_POLL)
        assert_int_equal(kvw_client_poll(cl, 0), KVW_ECLOSED);
    kvw_client_free(cl);
    if (mode == KVW_DELIVERY_LIBUV) {
        uv_run(&loop, UV_RUN_DEFAULT); /* returns once kvw's handle is closed */
        assert_int_equal(uv_loop_close(&loop), 0);
    }
}

static void check_flat(const char *phase, const gauges *base, const gauges *g, long peak_rss)
{
    if (g->fds > base->fds || g->threads > base->threads) {
        print_error("%s: %d descriptors and %d threads, baseline %d and %d\n", phase, g->fds,
                    g->threads, base->fds, base->threads);
        fail();
    }
    if (!SANITIZED && peak_rss - base->rss_kb > RSS_SLACK_KB) {
        print_error("%s: VmRSS grew from %ld to %ld KiB\n", phase, base->rss_kb, peak_rss);
        fail();
    }
}

static void test_open_put_close_cycles(void **state)
{
    (void)state;
    static const kvw_delivery modes[] = {KVW_DELIVERY_THREAD, KVW_DELIVERY_POLL, KVW_DELIVERY_LIBUV};
    counters c = {0, 0, 0, 0};
    const int64_t span = (int64_t)g_seconds * 1000 / 2;
    /* Warm-up: nats.c's library threads, malloc arenas, the bucket. */
    long cycle = 0;
    for (; cycle < 9; cycle++)
        one_cycle(modes[cycle % 3], cycle, &c);
    kt_sleep_ms(500); /* let the last warm-up client's threads end */
    gauges base = sample();
    long peak = base.rss_kb, mid_rss = 0;
    const int64_t t0 = kt_now_ms();
    while (kt_now_ms() - t0 < span) {
        one_cycle(modes[cycle % 3], cycle, &c);
        cycle++;
        gauges g = settle(&base);
        if (g.rss_kb > peak)
            peak = g.rss_kb;
        if (!mid_rss && kt_now_ms() - t0 > span / 2)
            mid_rss = g.rss_kb;
        check_flat("open/put/close cycles", &base, &g, peak);
    }
    gauges end = settle(&base);
    print_message("cycles: %ld clients opened and freed (THREAD/POLL/LIBUV) in %lld ms, %ld ops, "
                  "%ld callbacks, %ld failed\n",
                  cycle, (long long)(kt_now_ms() - t0), c.accepted, cb_count(&c), c.failed);
    print_message("  fds %d -> %d, threads %d -> %d, VmRSS %ld -> %ld KiB (middle %ld, peak %ld)\n",
                  base.fds, end.fds, base.threads, end.threads, base.rss_kb, end.rss_kb, mid_rss,
                  peak);
    check_flat("open/put/close cycles", &base, &end, peak);
    assert_int_equal(cb_count(&c), c.accepted);
    if (c.failed)
        print_error("first failure: %s\n", kvw_err_name(c.first_bad));
    assert_int_equal(c.failed, 0);
    print_message("FIGURES soak(cycles): %ld client cycles, ops %ld, callbacks %ld, failed %ld, fds "
                  "%d->%d, threads %d->%d, VmRSS %ld->%ld KiB\n",
                  cycle, c.accepted, cb_count(&c), c.failed, base.fds, end.fds, base.threads,
                  end.threads, base.rss_kb, end.rss_kb);
}

static void test_continuous_load(void **state)
{
    (void)state;
    enum { RATE = 5000 };
    counters c = {0, 0, 0, 0};
    kvw_client *cl = NULL;
    kvw_bucket *b = NULL;
    open_client(&cl, &b, KVW_DELIVERY_THREAD, NULL);
    const int64_t span = (int64_t)g_seconds * 1000 / 2;
    const int64_t warm = span / 10 > 1000 ? span / 10 : 1000;
    const int64_t t0 = kt_now_ms();
    gauges base = {0, 0, 0};
    long peak = 0, n = 0;
    int64_t next_sample = t0 + warm;
    int based = 0, samples = 0;
    while (kt_now_ms() - t0 < span + warm) {
        /* Paced: RATE puts per second. */
        int64_t due = t0 + n * 1000 / RATE;
        int64_t now = kt_now_ms();
        if (due > now)
            kt_sleep_ms((int)(due - now));
        assert_int_equal(submit_put(b, n, &c), 0);
        n++;
        if (kt_now_ms() >= next_sample) {
            gauges g = sample();
            if (!based) {
                base = g;
                peak = g.rss_kb;
                based = 1;
            }
            if (g.rss_kb > peak)
                peak = g.rss_kb;
            if (samples++ % 10 == 0)
                print_message("  t=%llds: %ld puts, VmRSS %ld KiB, fds %d, threads %d\n",
                              (long long)((kt_now_ms() - t0) / 1000), n, g.rss_kb, g.fds, g.threads);
            check_flat("continuous load", &base, &g, peak);
            next_sample += 1000;
        }
    }
    int64_t dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (cb_count(&c) < c.accepted && kt_now_ms() < dl)
        kt_sleep_ms(1);
    gauges end = sample();
    print_message("continuous load: %ld puts in %lld ms (%d samples), %ld callbacks, %ld failed\n",
                  c.accepted, (long long)(kt_now_ms() - t0), samples, cb_count(&c), c.failed);
    print_message("  fds %d -> %d, threads %d -> %d, VmRSS %ld -> %ld KiB (peak %ld)\n", base.fds,
                  end.fds, base.threads, end.threads, base.rss_kb, end.rss_kb, peak);
    check_flat("continuous load", &base, &end, peak);
    assert_int_equal(cb_count(&c), c.accepted);
    if (c.failed)
        print_error("first failure: %s\n", kvw_err_name(c.first_bad));
    assert_int_equal(c.failed, 0);
    kvw_bucket_free(b);
    kvw_client_free(cl);
    print_message("FIGURES soak(load): ops %ld at %d/s, callbacks %ld, failed %ld, fds %d->%d, "
                  "threads %d->%d, VmRSS %ld->%ld KiB (peak %ld)\n",
                  c.accepted, RATE, cb_count(&c), c.failed, base.fds, end.fds, base.threads,
                  end.threads, base.rss_kb, end.rss_kb, peak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_put_close_cycles),
        cmocka_unit_test(test_continuous_load),
    };
    return cmocka_run_group_tests_name("reliability/soak", tests, group_setup, group_teardown);
}
