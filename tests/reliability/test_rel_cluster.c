/*
 * reliability/cluster: a three-node nats-server cluster on loopback, a KV
 * bucket with three replicas, and a steady write load from one client that
 * was given all three URLs. The stream leader is killed (SIGKILL) during the
 * load, twice (the first victim is restarted and caught up in between):
 *
 *   - writes resume on the new leader without reopening the client;
 *   - every accepted op gets exactly one callback;
 *   - no write reported OK is lost: read back through each surviving node
 *     with nats.c's KV API, at its version, value intact.
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

enum { RATE = 4000, MAX_OPS = 200000, RESUME_MS = 30000 };

static rel_cluster g_cluster;
static int64_t g_op_timeout_ms = 2000; /* op deadline of the clients the next test opens */
static int64_t g_resend_after_ms = 0;  /* their resend_after_ms (0: the default) */

static int group_setup(void **state)
{
    (void)state;
    return rel_cluster_start(&g_cluster, 30000);
}

static int group_teardown(void **state)
{
    (void)state;
    rel_cluster_free(&g_cluster);
    return 0;
}

typedef struct fixture {
    kvw_client *client;
    kvw_bucket *bucket;
    rel_load *load;
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
    rel_cluster *c = &g_cluster;
    kvw_bucket_free(f->bucket);
    kvw_client_free(f->client);
    rel_load_free(f->load);
    for (int i = 0; i < REL_CLUSTER_NODES; i++)
        if (!ts_server_running(c->node[i]))
            ts_server_start(c->node[i]);
    free(f);
    g_op_timeout_ms = 2000;
    return 0;
}

typedef struct submitter {
    kvw_bucket *bucket;
    rel_load *load;
    long refused[32];
} submitter;

static void *submit_main(void *p)
{
    submitter *s = p;
    rel_put_range(s->bucket, s->load, 0, s->load->n, kt_now_ms() + 120000, s->refused);
    return NULL;
}

/* A node that is up (for asking the cluster questions), preferring `not`'s others. */
static int any_up(rel_cluster *c, int not)
{
    for (int i = 0; i < REL_CLUSTER_NODES; i++)
        if (i != not && ts_server_running(c->node[i]))
            return i;
    return -1;
}

static int leader_of(rel_cluster *c, const char *stream, char *name, size_t size)
{
    int64_t dl = kt_now_ms() + RESUME_MS;
    while (kt_now_ms() < dl) {
        for (int i = 0; i < REL_CLUSTER_NODES; i++) {
            if (rel_cluster_stream_leader(c, i, stream, name, size) == 0) {
                int idx = rel_cluster_index(c, name);
                if (idx >= 0 && ts_server_running(c->node[idx]))
                    return idx;
            }
        }
        kt_sleep_ms(100); /* polling the cluster: no event to wait on */
    }
    return -1;
}

/* Kills the stream leader and waits until a write submitted after the kill
 * succeeds. Returns the time that took (ms); fails the test after RESUME_MS. */
static int64_t kill_leader_and_wait(rel_cluster *c, rel_load *l, const char *stream, int *victim,
                                    int64_t *killed_at)
{
    char name[32];
    int idx = leader_of(c, stream, name, sizeof name);
    assert_true(idx >= 0);
    int at = __atomic_load_n(&l->next_id, __ATOMIC_ACQUIRE);
    int64_t t0 = kt_now_ms();
    assert_int_equal(ts_server_kill(c->node[idx]), 0);
    *victim = idx;
    if (killed_at)
        *killed_at = t0;
    while (__atomic_load_n(&l->max_ok_id, __ATOMIC_ACQUIRE) <= at) {
        if (kt_now_ms() - t0 > RESUME_MS) {
            print_error("no write submitted after killing leader %s succeeded within %d ms\n",
                        name, RESUME_MS);
            fail();
        }
        kt_sleep_ms(5);
    }
    int64_t took = kt_now_ms() - t0;
    char now[32] = "?";
    leader_of(c, stream, now, sizeof now);
    print_message("killed stream leader %s (node %d, port %d) at op %d; writes resumed after "
                  "%lld ms; new leader %s\n",
                  name, idx, ts_server_port(c->node[idx]), at, (long long)took, now);
    assert_string_not_equal(now, name);
    return took;
}

static void run_for(rel_load *l, int ms)
{
    int64_t dl = kt_now_ms() + ms;
    while (kt_now_ms() < dl && __atomic_load_n(&l->next_id, __ATOMIC_ACQUIRE) < l->n)
        kt_sleep_ms(10);
}

static void client_on_cluster(rel_cluster *c, kvw_client **out)
{
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = c->urls;
    o.name = "kvw-rel-cluster";
    o.op_timeout_ms = g_op_timeout_ms;
    o.max_reconnect = -1;
    o.reconnect_wait_ms = 100;
    o.max_inflight = 4096;
    o.resend_after_ms = g_resend_after_ms;
    assert_int_equal(kvw_client_open(out, &o), KVW_OK);
}

/* A client given every node's URL and a fresh R3 bucket (named into bucket /
 * stream, 64 and 80 bytes) whose three replicas are current. */
static void open_r3_with(rel_cluster *c, kvw_client **client, kvw_bucket **b, kvw_bucket_options bo,
                         char *bucket, char *stream)
{
    client_on_cluster(c, client);
    bo.create_if_missing = 1;
    bo.replicas = 3;
    kt_unique_name(bucket, 64, "r3");
    snprintf(stream, 80, "KV_%s", bucket);
    int rc = KVW_ETIMEDOUT;
    int64_t dl = kt_now_ms() + 30000;
    while (rc != KVW_OK && kt_now_ms() < dl) {
        rc = kvw_bucket_open(b, *client, bucket, &bo);
        if (rc != KVW_OK)
            kt_sleep_ms(200); /* the meta layer may still be settling */
    }
    if (rc != KVW_OK)
        print_error("kvw_bucket_open(R3): %s\n", kvw_err_name(rc));
    assert_int_equal(rc, KVW_OK);
    /* A node the previous test killed and restarted may still be loading its
     * streams (on a busy 2-core machine nats-server 2.9 once took over 30 s). */
    const int64_t t0 = kt_now_ms();
    dl = t0 + 90000;
    while (rel_cluster_stream_current(c, 0, stream) != 3 && kt_now_ms() < dl)
        kt_sleep_ms(100);
    if (kt_now_ms() - t0 > 10000)
        print_message("  (the R3 bucket's three replicas were current after %lld ms)\n", (long long)(kt_now_ms() - t0));
    assert_int_equal(rel_cluster_stream_current(c, 0, stream), 3);
}

static void open_r3(rel_cluster *c, kvw_client **client, kvw_bucket **b, int history, char *bucket,
                    char *stream)
{
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.history = history;
    open_r3_with(c, client, b, bo, bucket, stream);
}

/* nats-server 2.9.10 sometimes loses the last writes its stream leader acked
 * just before that leader is SIGKILLed: 4 to 8 OK writes, the last acked
 * before the kill, were in no surviving replica afterwards in 2 of 10 runs
 * here; never on 2.10+ (the `cluster` stage runs this test on 2.15.2). kvw
 * reports the server's ack and cannot do better. On 2.9 only, lost OK writes
 * and records the watch did not list are printed and not counted (returned,
 * and taken out of v); corrupted, duplicated and failed-yet-present records
 * still fail. */
static int server_lost_at_kill(int server, rel_verify_stats *v, const int64_t kills[2])
{
    if (server >= 21000 || (v->ok_lost == 0 && v->stray == 0))
        return 0;
    /* 2.9 only. Its replicas can also diverge at a leader kill: in one CI
     * run OK writes were reported at revisions 6032-6035 that, read through
     * a survivor, held records of writes in flight at the first kill, which
     * the watch did not list (3 lost, 3 "stray"). kvw reports the acks it
     * gets; nothing it can do there. Printed, not counted. */
    int64_t first = INT64_MAX, last = INT64_MIN; /* acked at kill + [first, last] ms */
    for (int i = 0; i < v->lost_ops && i < REL_LOST_KEPT; i++) {
        const int64_t t = v->lost_done_ms[i];
        const int k = t >= kills[1] - 1000 ? 1 : 0;
        if (t - kills[k] < first)
            first = t - kills[k];
        if (t - kills[k] > last)
            last = t - kills[k];
    }
    print_message("NOTE nats-server %d.%d.%d lost %d OK writes (acked %lld to %lld ms from a leader SIGKILL) "
                  "and showed %d records its watch did not list (a 2.9 server defect, fixed in 2.10; not "
                  "counted)\n",
                  server / 10000, server / 100 % 100, server % 100, v->ok_lost, (long long)first, (long long)last,
                  v->stray);
    const int gone = v->ok_lost;
    v->ok_lost = 0;
    v->stray = 0;
    return gone;
}

static void test_kill_stream_leader(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 4, bucket, stream);
    const int server = kvw_client_server_version(f->client);
    int64_t dl;

    f->load = rel_load_new(MAX_OPS, "c");
    assert_non_null(f->load);
    f->load->rate_per_s = RATE;
    submitter sub = {f->bucket, f->load, {0}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_main, &sub), 0);

    run_for(f->load, 1500);
    int victim1 = -1, victim2 = -1;
    int64_t kills[2];
    int64_t resume1 = kill_leader_and_wait(c, f->load, stream, &victim1, &kills[0]);
    run_for(f->load, 1000);

    /* The first victim comes back and catches up; then the new leader dies. */
    assert_int_equal(ts_server_start(c->node[victim1]), 0);
    dl = kt_now_ms() + 30000;
    int current = 0;
    while ((current = rel_cluster_stream_current(c, any_up(c, -1), stream)) != 3 && kt_now_ms() < dl)
        kt_sleep_ms(100);
    print_message("node %d restarted: %d replicas current\n", victim1, current);
    assert_int_equal(current, 3);
    run_for(f->load, 1000);
    int64_t resume2 = kill_leader_and_wait(c, f->load, stream, &victim2, &kills[1]);
    run_for(f->load, 2000); /* a steady stretch on the new leader */

    __atomic_store_n(&f->load->stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_int_equal(rel_wait_all(f->load, 30000), 0);
    rel_tally t;
    rel_tally_of(f->load, &t);
    rel_tally_print("cluster load", &t);
    for (int code = 0; code < 32; code++)
        if (sub.refused[code])
            print_message("  submit refused with %s: %ld times (retried)\n", kvw_err_name(-code),
                          sub.refused[code]);
    rel_assert_exactly_once(f->load);
    assert_int_equal(t.accepted, t.submitted);

    /* Writes resumed for good: the last stretch all succeeded, on the same client. */
    int tail = 0, tail_ok = 0;
    for (int i = t.submitted - 1; i >= 0 && tail < 500; i--, tail++)
        tail_ok += f->load->ops[i].status == KVW_OK;
    print_message("last %d writes: %d OK\n", tail, tail_ok);
    assert_int_equal(tail_ok, tail);
    dl = kt_now_ms() + KT_TIMEOUT_MS;
    while (kvw_client_inflight(f->client) != 0 && kt_now_ms() < dl)
        kt_sleep_ms(1);
    assert_int_equal(kvw_client_inflight(f->client), 0);
    assert_int_equal(kvw_client_close(f->client), 0);

    /* Verified through each survivor: every OK write is there at its version. */
    int verified = 0;
    for (int i = 0; i < REL_CLUSTER_NODES; i++) {
        if (!ts_server_running(c->node[i]))
            continue;
        rel_verify_stats v;
        char what[64];
        snprintf(what, sizeof what, "read through %s", c->name[i]);
        rel_load *loads[] = {f->load};
        assert_int_equal(rel_verify(ts_server_url(c->node[i]), bucket, loads, 1, 1, &v), 0);
        rel_verify_print(what, &v);
        const int gone = server_lost_at_kill(server, &v, kills);
        rel_assert_verified(&v);
        /* (ok_verified <= t.ok: with nothing excused, every OK write verified) */
        assert_true(v.ok_verified + gone >= t.ok);
        assert_true(v.ok_revision_read + gone >= t.ok);
        verified = v.ok_verified;
    }
    print_message("FIGURES cluster: ops %d, faults 2 (stream leader SIGKILLed: %s, then %s), "
                  "callbacks %ld, OK %d, outcome-unknown %d, failed %d, resumed after %lld and "
                  "%lld ms, writes verified %d on each of 2 survivors\n",
                  t.submitted, c->name[victim1], c->name[victim2], t.callbacks, t.ok, t.unknown,
                  t.failed, (long long)resume1, (long long)resume2, verified);
}

/* ------------------------------------------------------------------------
 * A leader failover with a 5 s op deadline: while the stream has no leader
 * the server answers "no responders", and kvw sends those ops again until
 * their deadline instead of failing them, so the application sees slower
 * writes, not failures. Reports what ended how, and how long writes took to
 * resume after the kill. */
static void run_failover(fixture *f, int resends)
{
    rel_cluster *c = &g_cluster;
    g_op_timeout_ms = 5000;
    g_resend_after_ms = resends ? 0 : KVW_RESEND_NEVER;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 4, bucket, stream);  /* history 4: a write stored twice would show */
    f->load = rel_load_new(MAX_OPS, "f");
    assert_non_null(f->load);
    f->load->rate_per_s = 2000;
    submitter sub = {f->bucket, f->load, {0}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_main, &sub), 0);
    run_for(f->load, 1500);
    int victim = -1;
    int inflight_at_kill = kvw_client_inflight(f->client);
    int64_t resume = kill_leader_and_wait(c, f->load, stream, &victim, NULL);
    run_for(f->load, 3000);
    __atomic_store_n(&f->load->stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_int_equal(rel_wait_all(f->load, 30000), 0);
    rel_tally t;
    rel_tally_of(f->load, &t);
    rel_tally_print("failover load", &t);
    rel_assert_exactly_once(f->load);
    long busy = sub.refused[-KVW_EBUSY];
    const int early = rel_early_failures(f->load, g_op_timeout_ms);
    print_message("FIGURES cluster failover (op deadline 5 s, %s): ops %d, OK %d, timed out (outcome unknown) "
                  "%d, not connected %d, other failures %d, failed before their deadline %d; writes resumed "
                  "%lld ms after the leader kill; in flight at the kill %d; submits refused EBUSY (window "
                  "full, retried) %ld\n",
                  resends ? "resends" : "no resends", t.submitted, t.ok, t.by_status[-KVW_ETIMEDOUT],
                  t.by_status[-KVW_ENOTCONN], t.failed - t.by_status[-KVW_ENOTCONN], early,
                  (long long)resume, inflight_at_kill, busy);
    rel_print_early_failures(f->load, g_op_timeout_ms, 5);
    g_resend_after_ms = 0;
    /* With resends, an op fails for want of a leader or an ack only once its
     * deadline has passed. */
    if (resends)
        assert_int_equal(early, 0);
    /* Not one op failed for want of a leader before its deadline: an
     * ENOTCONN now means 5 s of "no responders". */
    for (int i = 0; i < t.submitted; i++)
        assert_int_not_equal(f->load->ops[i].status, KVW_ESERVER);
    rel_verify_stats v;
    rel_load *loads[] = {f->load};
    assert_int_equal(kvw_client_close(f->client), 0);
    assert_int_equal(rel_verify(ts_server_url(c->node[any_up(c, victim)]), bucket, loads, 1, 1, &v), 0);
    rel_verify_print("read through a survivor", &v);
    rel_assert_verified(&v);
}

/* ------------------------------------------------------------------------
 * Blocking calls (kvw_waiter) through a leader failover: 16 threads, each
 * putting one key after another and waiting for it, while the stream leader
 * is SIGKILLed. Every call returns exactly once, none fails before its
 * deadline, and every OK write is stored at its version on a survivor. */

enum { BLOCKING_THREADS = 16 };

typedef struct blocking_caller {
    kvw_bucket *bucket;
    rel_load *load;
} blocking_caller;

static void *blocking_main(void *p)
{
    blocking_caller *b = p;
    rel_load *l = b->load;
    kvw_waiter *w = NULL;
    if (kvw_waiter_new(&w) != KVW_OK)
        return NULL;
    for (;;) {
        int id = __atomic_fetch_add(&l->next_id, 1, __ATOMIC_ACQ_REL);
        if (id >= l->n || __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
            if (id < l->n)
                __atomic_store_n(&l->next_id, l->n, __ATOMIC_RELEASE);
            break;
        }
        char key[64], val[REL_VALUE_MAX];
        rel_key(l, id, key, sizeof key);
        size_t n = rel_value(l, id, val, sizeof val);
        rel_op *op = &l->ops[id];
        op->submit_ms = kt_now_ms();
        op->submit_rc = kvw_put(b->bucket, key, val, n, kvw_waiter_callback, w);
        const kvw_result *r = NULL;
        if (op->submit_rc == KVW_OK && kvw_waiter_wait(w, -1, &r) == 1)
            rel_cb(r, op); /* records it as an async op's callback would */
    }
    kvw_waiter_free(w);
    return NULL;
}

static void test_blocking_calls_through_failover(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    g_op_timeout_ms = 5000;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 4, bucket, stream);
    f->load = rel_load_new(MAX_OPS, "b");
    assert_non_null(f->load);
    blocking_caller caller = {f->bucket, f->load};
    pthread_t th[BLOCKING_THREADS];
    for (int i = 0; i < BLOCKING_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, blocking_main, &caller), 0);
    const int server = kvw_client_server_version(f->client);
    run_for(f->load, 1500);
    int victim = -1;
    int64_t kills[2];
    int64_t resume = kill_leader_and_wait(c, f->load, stream, &victim, &kills[0]);
    kills[1] = kills[0];
    run_for(f->load, 2000);
    __atomic_store_n(&f->load->stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < BLOCKING_THREADS; i++)
        pthread_join(th[i], NULL);
    rel_tally t;
    rel_tally_of(f->load, &t);
    rel_tally_print("blocking calls", &t);
    rel_assert_exactly_once(f->load);
    const int early = rel_early_failures(f->load, g_op_timeout_ms);
    print_message("FIGURES cluster failover, %d threads of blocking calls: calls %d, OK %d, timed out %d, "
                  "failed %d, failed before their deadline %d; writes resumed %lld ms after the leader kill\n",
                  BLOCKING_THREADS, t.submitted, t.ok, t.by_status[-KVW_ETIMEDOUT], t.failed, early,
                  (long long)resume);
    rel_print_early_failures(f->load, g_op_timeout_ms, 5);
    assert_int_equal(early, 0);
    assert_true(t.ok > 0);
    rel_verify_stats v;
    rel_load *loads[] = {f->load};
    assert_int_equal(kvw_client_close(f->client), 0);
    assert_int_equal(rel_verify(ts_server_url(c->node[any_up(c, victim)]), bucket, loads, 1, 1, &v), 0);
    rel_verify_print("blocking calls, read through a survivor", &v);
    server_lost_at_kill(server, &v, kills);
    rel_assert_verified(&v);
}

/* ------------------------------------------------------------------------
 * A lost ack on an R3 bucket: the connection to the node is cut right after
 * an update reaches it; the resend (through whichever node the client
 * reaches next) is answered as a duplicate, and the update ends OK at the
 * version stored, once. */
static void test_lost_ack_on_r3(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    char bucket[64], stream[80];
    g_op_timeout_ms = 5000;
    open_r3(c, &f->client, &f->bucket, 4, bucket, stream);
    kvw_bucket_free(f->bucket);
    kvw_client_free(f->client);
    f->bucket = NULL;

    tp_proxy *proxy = tp_proxy_start(ts_server_port(c->node[0]));
    assert_non_null(proxy);
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = tp_proxy_url(proxy);
    o.op_timeout_ms = 5000;
    o.reconnect_wait_ms = 100;
    o.resend_after_ms = 300;
    assert_int_equal(kvw_client_open(&f->client, &o), KVW_OK);
    assert_int_equal(kvw_bucket_open(&f->bucket, f->client, bucket, NULL), KVW_OK);
    kt_ctx *ctx = kt_ctx_new(NULL);
    kt_rec *v1 = kt_put_s(ctx, f->bucket, "k", "v1");
    kt_assert_status(v1, KVW_OK);
    char needle[160];
    snprintf(needle, sizeof needle, "$KV.%s.k ", bucket);
    tp_proxy_cut_after(proxy, needle);
    kt_rec *u = kt_update_s(ctx, f->bucket, "k", "v2", v1->version);
    assert_int_equal(tp_proxy_cuts(proxy), 1);
    kt_assert_status(u, KVW_OK);

    kt_nats n;
    assert_int_equal(kt_nats_open(&n, ts_server_url(c->node[1])), 0);
    kvStore *kv = NULL;
    assert_int_equal(js_KeyValue(&kv, n.js, bucket), NATS_OK);
    kvEntryList list = {0};
    assert_int_equal(kvStore_History(&list, kv, "k", NULL), NATS_OK);
    assert_int_equal(list.Count, 2); /* v1 and the update, once */
    assert_int_equal(kvEntry_Revision(list.Entries[1]), kt_rev(u->version));
    kvEntryList_Destroy(&list);
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    print_message("FIGURES cluster lost ack (R3 update, connection cut after the send): OK at the stored "
                  "version %llu, 1 record\n", (unsigned long long)kt_rev(u->version));
    kt_ctx_free(ctx);
    kvw_bucket_free(f->bucket);
    kvw_client_free(f->client);
    f->bucket = NULL;
    f->client = NULL;
    tp_proxy_free(proxy);
}

static void test_failover_within_deadline(void **state) { run_failover(*state, 1); }
/* The same without write ids and resends (kvw 0.1's behaviour): the figures
 * to compare; only the contract is asserted. */
static void test_failover_without_resends(void **state) { run_failover(*state, 0); }

/* ------------------------------------------------------------------------
 * Many updaters racing on one key of an R3 bucket: exactly one CAS per round
 * wins, and every loser is KVW_ECONFLICT, whether the cluster answered 10071
 * ("wrong last sequence: N") or 10164 (the same without N, which clustered
 * streams send while another write to the subject is in flight). */

enum { CAS_CLIENTS = 4, CAS_RACERS = 32, CAS_ROUNDS = 60 };

typedef struct cas_round {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, ok, conflict, exists, other, with_10164, with_10071, other_code, other_server_error;
    kvw_version winner;
} cas_round;

static void cas_cb(const kvw_result *r, void *user_data)
{
    cas_round *k = user_data;
    pthread_mutex_lock(&k->mu);
    if (r->status == KVW_OK) {
        k->ok++;
        k->winner = r->version;
    } else if (r->status == KVW_ECONFLICT) {
        k->conflict++;
        k->with_10164 += r->server_error == 10164;
        k->with_10071 += r->server_error == 10071;
    } else if (r->status == KVW_EEXIST) {
        k->exists++;
    } else {
        k->other++;
        k->other_code = r->status;
        k->other_server_error = r->server_error;
    }
    k->done++;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static void test_racing_cas_conflicts_are_conflicts(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 1, bucket, stream);
    kvw_client *clients[CAS_CLIENTS] = {f->client};
    kvw_bucket *buckets[CAS_CLIENTS] = {f->bucket};
    for (int i = 1; i < CAS_CLIENTS; i++) {
        client_on_cluster(c, &clients[i]);
        assert_int_equal(kvw_bucket_open(&buckets[i], clients[i], bucket, NULL), KVW_OK);
    }
    cas_round k;
    memset(&k, 0, sizeof k);
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cv, NULL);
    assert_int_equal(kvw_put(f->bucket, "hot", "0", 1, cas_cb, &k), 0);
    pthread_mutex_lock(&k.mu);
    while (k.done < 1)
        pthread_cond_wait(&k.cv, &k.mu);
    pthread_mutex_unlock(&k.mu);
    assert_int_equal(k.ok, 1);

    long ok = 0, conflict = 0, c10164 = 0, c10071 = 0;
    for (int round = 0; round < CAS_ROUNDS; round++) {
        kvw_version expected = k.winner;
        pthread_mutex_lock(&k.mu);
        k.done = k.ok = k.conflict = k.other = k.with_10164 = k.with_10071 = 0;
        pthread_mutex_unlock(&k.mu);
        for (int i = 0; i < CAS_RACERS; i++) {
            char v[16];
            int n = snprintf(v, sizeof v, "%d.%d", round, i);
            assert_int_equal(kvw_update(buckets[i % CAS_CLIENTS], "hot", v, (size_t)n, &expected, cas_cb, &k), 0);
        }
        pthread_mutex_lock(&k.mu);
        while (k.done < CAS_RACERS)
            pthread_cond_wait(&k.cv, &k.mu);
        pthread_mutex_unlock(&k.mu);
        if (k.other)
            print_error("round %d: %d refusals were %s (server_error %d), not KVW_ECONFLICT\n", round,
                        k.other, kvw_err_name(k.other_code), k.other_server_error);
        assert_int_equal(k.other, 0);
        if (k.ok > 1 && kvw_client_server_version(f->client) < 21000) {
            /* nats-server 2.9 checks a clustered CAS against the stored state
             * only, not against writes still in flight: several racers win.
             * 2.10 fixed it; kvw cannot, since the racers may be other processes. */
            print_message("[  SKIP    ] nats-server 2.9 let %d of %d racing CAS writes with the same "
                          "expected version win on an R3 bucket (server bug, fixed in 2.10): "
                          "needs nats-server 2.10 or newer\n", k.ok, CAS_RACERS);
            for (int i = 1; i < CAS_CLIENTS; i++) {
                kvw_bucket_free(buckets[i]);
                kvw_client_free(clients[i]);
            }
            skip();
        }
        assert_int_equal(k.ok, 1);
        assert_int_equal(k.conflict, CAS_RACERS - 1);
        ok += k.ok;
        conflict += k.conflict;
        c10164 += k.with_10164;
        c10071 += k.with_10071;
    }
    print_message("FIGURES cluster CAS: %d rounds x %d racers on one key of an R3 bucket: %ld won, "
                  "%ld KVW_ECONFLICT (server said 10071: %ld, 10164: %ld), 0 other\n",
                  CAS_ROUNDS, CAS_RACERS, ok, conflict, c10071, c10164);
    for (int i = 1; i < CAS_CLIENTS; i++) {
        kvw_bucket_free(buckets[i]);
        kvw_client_free(clients[i]);
    }
    pthread_cond_destroy(&k.cv);
    pthread_mutex_destroy(&k.mu);
}

/* ------------------------------------------------------------------------
 * Per-key TTL on an R3 bucket (nats-server 2.11+), as users deploy KV: a
 * lease created with a TTL expires on every replica, racing creators on the
 * expired key from several clients get exactly one winner, a renewed lease
 * survives, and a key that ages out leaves a limit marker. */

typedef struct sync_op {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, status;
    kvw_version version;
    kvw_entry_op entry_op;
    int64_t ttl_ms;
    char key[64];
} sync_op;

static void sync_cb(const kvw_result *r, void *user_data)
{
    sync_op *o = user_data;
    pthread_mutex_lock(&o->mu);
    o->status = r->status;
    o->version = r->version;
    o->entry_op = r->entry_op;
    o->ttl_ms = r->ttl_ms;
    snprintf(o->key, sizeof o->key, "%s", r->key ? r->key : "");
    o->done++;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* Runs one submit (rc) and waits for its callback; returns its status. */
static int sync_wait(sync_op *o, int rc)
{
    assert_int_equal(rc, 0);
    pthread_mutex_lock(&o->mu);
    while (o->done < 1)
        pthread_cond_wait(&o->cv, &o->mu);
    o->done = 0;
    pthread_mutex_unlock(&o->mu);
    return o->status;
}

static void sync_init(sync_op *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
}

/* Polls get until it is KVW_ENOTFOUND; asserts within `ms`. */
static void wait_expired(kvw_bucket *b, sync_op *o, const char *key, int ms)
{
    int64_t dl = kt_now_ms() + ms;
    while (sync_wait(o, kvw_get(b, key, sync_cb, o)) != KVW_ENOTFOUND) {
        if (kt_now_ms() > dl) fail_msg("%s did not expire within %d ms", key, ms);
        kt_sleep_ms(100);
    }
}

static void test_ttl_on_r3(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    client_on_cluster(c, &f->client);
    int server = kvw_client_server_version(f->client);
    if (server < 21100) {
        print_message("[  SKIP    ] per-key TTL needs nats-server 2.11 or newer (this is %d.%d.%d)\n",
                      server / 10000, server / 100 % 100, server % 100);
        skip();
    }
    kvw_client_free(f->client);
    f->client = NULL;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.history = 1;
    bo.allow_ttl = 1;
    bo.limit_marker_ttl_ms = 2000;
    bo.max_age_ms = 3000;
    char bucket[64], stream[80];
    open_r3_with(c, &f->client, &f->bucket, bo, bucket, stream);
    assert_int_equal(kvw_bucket_supports(f->bucket, KVW_FEATURE_TTL_ON_WRITE), 1);
    sync_op o;
    sync_init(&o);

    /* A lease expires; the key reads as gone through each node. */
    assert_int_equal(sync_wait(&o, kvw_create_ttl(f->bucket, "lease", "a", 1, 1000, sync_cb, &o)), KVW_OK);
    assert_int_equal(sync_wait(&o, kvw_get_entry(f->bucket, "lease", sync_cb, &o)), KVW_OK);
    assert_int_equal(o.ttl_ms, 1000);
    wait_expired(f->bucket, &o, "lease", 8000);
    for (int i = 0; i < REL_CLUSTER_NODES; i++) {
        kt_nats n;
        assert_int_equal(kt_nats_open(&n, ts_server_url(c->node[i])), 0);
        kvStore *kv = NULL;
        kvEntry *e = NULL;
        assert_int_equal(js_KeyValue(&kv, n.js, bucket), NATS_OK);
        natsStatus st = kvStore_Get(&e, kv, "lease");
        kvEntry_Destroy(e);
        kvStore_Destroy(kv);
        kt_nats_close(&n);
        /* nats.c 3.4.1 reads the server's limit marker as a value-less entry. */
        assert_true(st == NATS_NOT_FOUND || st == NATS_OK);
    }

    /* Racing creators on the expired key, from four clients: one wins. */
    enum { RACERS = 16, CLIENTS = 4 };
    kvw_client *clients[CLIENTS] = {f->client};
    kvw_bucket *buckets[CLIENTS] = {f->bucket};
    for (int i = 1; i < CLIENTS; i++) {
        client_on_cluster(c, &clients[i]);
        assert_int_equal(kvw_bucket_open(&buckets[i], clients[i], bucket, NULL), KVW_OK);
    }
    cas_round k;
    memset(&k, 0, sizeof k);
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cv, NULL);
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(kvw_create_ttl(buckets[i % CLIENTS], "lease", "b", 1, 5000, cas_cb, &k), 0);
    pthread_mutex_lock(&k.mu);
    while (k.done < RACERS)
        pthread_cond_wait(&k.cv, &k.mu);
    pthread_mutex_unlock(&k.mu);
    print_message("racing creators on an expired R3 key: %d won, %d KVW_EEXIST, %d other (last %s)\n", k.ok,
                  k.exists, k.other, kvw_err_name(k.other_code));
    assert_int_equal(k.ok, 1);
    assert_int_equal(k.exists, RACERS - 1);
    for (int i = 1; i < CLIENTS; i++) {
        kvw_bucket_free(buckets[i]);
        kvw_client_free(clients[i]);
    }

    /* A renewed lease survives its first TTL; an unrenewed one does not. */
    kvw_version v;
    assert_int_equal(sync_wait(&o, kvw_create_ttl(f->bucket, "kept", "a", 1, 2000, sync_cb, &o)), KVW_OK);
    v = o.version;
    assert_int_equal(sync_wait(&o, kvw_create_ttl(f->bucket, "lapsed", "a", 1, 2000, sync_cb, &o)), KVW_OK);
    for (int i = 0; i < 3; i++) {
        kt_sleep_ms(1000);
        assert_int_equal(sync_wait(&o, kvw_update_ttl(f->bucket, "kept", "a", 1, &v, 2000, sync_cb, &o)),
                         KVW_OK);
        v = o.version;
    }
    assert_int_equal(sync_wait(&o, kvw_get(f->bucket, "kept", sync_cb, &o)), KVW_OK);
    assert_int_equal(sync_wait(&o, kvw_get(f->bucket, "lapsed", sync_cb, &o)), KVW_ENOTFOUND);

    /* max_age removes a plain value and the cluster leaves a PURGE marker. */
    assert_int_equal(sync_wait(&o, kvw_put(f->bucket, "aging", "a", 1, sync_cb, &o)), KVW_OK);
    int64_t dl = kt_now_ms() + 10000;
    do {
        kt_sleep_ms(200);
        sync_wait(&o, kvw_get_entry(f->bucket, "aging", sync_cb, &o));
    } while (o.status == KVW_OK && o.entry_op == KVW_ENTRY_PUT && kt_now_ms() < dl);
    assert_int_equal(o.status, KVW_OK);
    assert_int_equal(o.entry_op, KVW_ENTRY_PURGE);
    assert_int_equal(sync_wait(&o, kvw_create(f->bucket, "aging", "b", 1, sync_cb, &o)), KVW_OK);
    print_message("FIGURES cluster TTL: R3 lease expired and read back on %d nodes, 1 of %d racing "
                  "creators won, renewed lease kept, MaxAge left a PURGE marker\n",
                  REL_CLUSTER_NODES, RACERS);
    pthread_cond_destroy(&k.cv);
    pthread_mutex_destroy(&k.mu);
    pthread_cond_destroy(&o.cv);
    pthread_mutex_destroy(&o.mu);
}

/* ------------------------------------------------------------------------
 * Reads see every completed write (kvw.h, READS). RYW_THREADS threads put,
 * get and update RYW_KEYS keys of an R3 bucket through one client. Before
 * each get a thread notes the newest version of the key that any completed
 * op has reported; the get must return that version or a newer one. With
 * KVW_READ_DIRECT (the check off) replicas that are behind show through;
 * with the default check, never. */

enum { RYW_THREADS = 8, RYW_KEYS = 4, RYW_MS = 5000 };

typedef struct ryw {
    kvw_bucket *bucket;
    int64_t until;
    uint64_t seen[RYW_KEYS]; /* newest version any completed op reported (atomic) */
    long gets, stale, writes, conflicts, other; /* atomic */
} ryw;

static uint64_t u64_of(kvw_version v)
{
    uint64_t n = 0;
    return kvw_version_to_u64(&v, &n) == KVW_OK ? n : 0;
}

static void raise_seen(uint64_t *seen, uint64_t v)
{
    uint64_t cur = __atomic_load_n(seen, __ATOMIC_ACQUIRE);
    while (v > cur && !__atomic_compare_exchange_n(seen, &cur, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
}

static void *ryw_main(void *p)
{
    ryw *w = p;
    sync_op o;
    sync_init(&o);
    unsigned seed = (unsigned)(uintptr_t)&o;
    kvw_version mine[RYW_KEYS];
    memset(mine, 0, sizeof mine);
    while (kt_now_ms() < w->until) {
        int k = (int)(rand_r(&seed) % RYW_KEYS), what = (int)(rand_r(&seed) % 3);
        char key[8], val[16];
        snprintf(key, sizeof key, "k%d", k);
        int n = snprintf(val, sizeof val, "%u", rand_r(&seed) % 100000);
        int st;
        if (what == 0) {
            uint64_t before = __atomic_load_n(&w->seen[k], __ATOMIC_ACQUIRE);
            st = sync_wait(&o, kvw_get_entry(w->bucket, key, sync_cb, &o));
            __atomic_add_fetch(&w->gets, 1, __ATOMIC_RELAXED);
            if (st == KVW_OK || st == KVW_ENOTFOUND) {
                uint64_t got = st == KVW_OK ? u64_of(o.version) : 0;
                if (got < before) __atomic_add_fetch(&w->stale, 1, __ATOMIC_RELAXED);
                if (st == KVW_OK) {
                    mine[k] = o.version;
                    raise_seen(&w->seen[k], got);
                }
                continue;
            }
        } else if (what == 1 || u64_of(mine[k]) == 0) {
            st = sync_wait(&o, kvw_put(w->bucket, key, val, (size_t)n, sync_cb, &o));
        } else {
            st = sync_wait(&o, kvw_update(w->bucket, key, val, (size_t)n, &mine[k], sync_cb, &o));
        }
        if (what != 0 && st == KVW_OK) {
            __atomic_add_fetch(&w->writes, 1, __ATOMIC_RELAXED);
            mine[k] = o.version;
            raise_seen(&w->seen[k], u64_of(o.version));
        } else if (st == KVW_ECONFLICT) {
            __atomic_add_fetch(&w->conflicts, 1, __ATOMIC_RELAXED);
        } else {
            __atomic_add_fetch(&w->other, 1, __ATOMIC_RELAXED);
            print_error("%s: %s\n", what == 0 ? "get" : "write", kvw_err_name(st));
        }
    }
    pthread_cond_destroy(&o.cv);
    pthread_mutex_destroy(&o.mu);
    return NULL;
}

/* Runs the load on a handle of `bucket` opened with `mode`; returns stale gets. */
static long ryw_run(rel_cluster *c, const char *bucket, kvw_read_mode mode, const char *label)
{
    kvw_client *client;
    kvw_bucket *b;
    client_on_cluster(c, &client);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.read_mode = mode;
    assert_int_equal(kvw_bucket_open(&b, client, bucket, &bo), KVW_OK);
    ryw w;
    memset(&w, 0, sizeof w);
    w.bucket = b;
    w.until = kt_now_ms() + RYW_MS;
    pthread_t th[RYW_THREADS];
    for (int i = 0; i < RYW_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, ryw_main, &w), 0);
    for (int i = 0; i < RYW_THREADS; i++)
        pthread_join(th[i], NULL);
    print_message("FIGURES cluster reads, %s: %d threads, %d keys, %d s on an R3 bucket: %ld gets, %ld "
                  "older than a write or read already completed; %ld writes, %ld conflicts, %ld other\n",
                  label, RYW_THREADS, RYW_KEYS, RYW_MS / 1000, w.gets, w.stale, w.writes, w.conflicts, w.other);
    assert_int_equal(w.other, 0);
    assert_true(w.gets > 100);
    kvw_bucket_free(b);
    kvw_client_free(client);
    return w.stale;
}

static void test_reads_see_completed_writes(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 1, bucket, stream);
    long direct = ryw_run(c, bucket, KVW_READ_DIRECT, "direct gets (check off)");
    long checked = ryw_run(c, bucket, KVW_READ_CHECKED, "checked (default)");
    long leader = ryw_run(c, bucket, KVW_READ_LEADER, "leader only");
    if (direct == 0)
        print_message("note: no stale direct get this run (replicas kept up); the checked run proves "
                      "nothing new\n");
    assert_int_equal(checked, 0);
    assert_int_equal(leader, 0);
}

typedef struct pair_op {
    sync_op plain, at_least;
} pair_op;

/* Across processes: client A writes, client B (reading direct, so that its
 * plain gets show replica lag) is handed the version and must see it with
 * kvw_get_at_least. */
static void test_get_at_least_across_clients(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 1, bucket, stream);
    kvw_client *other;
    kvw_bucket *ob;
    client_on_cluster(c, &other);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.read_mode = KVW_READ_DIRECT;
    assert_int_equal(kvw_bucket_open(&ob, other, bucket, &bo), KVW_OK);
    pair_op p;
    sync_init(&p.plain);
    sync_init(&p.at_least);
    sync_op w;
    sync_init(&w);
    long stale_plain = 0;
    enum { ROUNDS = 2000 };
    for (int i = 0; i < ROUNDS; i++) {
        char v[16];
        int n = snprintf(v, sizeof v, "%d", i);
        assert_int_equal(sync_wait(&w, kvw_put(f->bucket, "handed", v, (size_t)n, sync_cb, &w)), KVW_OK);
        kvw_version at = w.version;
        assert_int_equal(kvw_get(ob, "handed", sync_cb, &p.plain), 0);
        int st = sync_wait(&p.at_least, kvw_get_at_least(ob, "handed", &at, sync_cb, &p.at_least));
        if (st != KVW_OK) print_error("round %d: get_at_least: %s\n", i, kvw_err_name(st));
        assert_int_equal(st, KVW_OK);
        assert_true(u64_of(p.at_least.version) >= u64_of(at));
        sync_wait(&p.plain, 0);
        if (p.plain.status != KVW_OK || u64_of(p.plain.version) < u64_of(at)) stale_plain++;
    }
    /* A version the key never reaches: the leader is asked until the deadline. */
    kvw_version far = kvw_version_from_u64(u64_of(w.version) + 1000000);
    int64_t t0 = kt_now_ms();
    assert_int_equal(sync_wait(&p.at_least, kvw_get_at_least(ob, "handed", &far, sync_cb, &p.at_least)),
                     KVW_ETIMEDOUT);
    assert_true(kt_now_ms() - t0 >= g_op_timeout_ms - 100);
    assert_int_equal(kvw_get_at_least(ob, "handed", NULL, sync_cb, &p.at_least), KVW_EINVAL);
    kvw_version unknown;
    memset(&unknown, 0, sizeof unknown);
    assert_int_equal(kvw_get_at_least(ob, "handed", &unknown, sync_cb, &p.at_least), KVW_EBADVERSION);
    print_message("FIGURES cluster reads across clients: %d versions handed from client A to client B "
                  "(direct reads): plain get older %ld times, kvw_get_at_least 0 times\n",
                  ROUNDS, stale_plain);
    kvw_bucket_free(ob);
    kvw_client_free(other);
}

/* A bucket whose stream has no allow_direct opens, and reads go to the leader. */
static void test_bucket_without_direct_gets(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    char bucket[64], stream[80];
    open_r3(c, &f->client, &f->bucket, 1, bucket, stream);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    assert_int_equal(natsConnection_ConnectTo(&nc, c->urls), NATS_OK);
    assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    assert_int_equal(js_GetStreamInfo(&si, js, stream, NULL, NULL), NATS_OK);
    si->Config->AllowDirect = false;
    jsStreamInfo *updated = NULL;
    assert_int_equal(js_UpdateStream(&updated, js, si->Config, NULL, NULL), NATS_OK);
    assert_false(updated->Config->AllowDirect);
    jsStreamInfo_Destroy(updated);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    kvw_bucket *b;
    assert_int_equal(kvw_bucket_open(&b, f->client, bucket, NULL), KVW_OK);
    sync_op o;
    sync_init(&o);
    assert_int_equal(sync_wait(&o, kvw_get(b, "none", sync_cb, &o)), KVW_ENOTFOUND);
    assert_int_equal(sync_wait(&o, kvw_put(b, "k", "v1", 2, sync_cb, &o)), KVW_OK);
    kvw_version v = o.version;
    assert_int_equal(sync_wait(&o, kvw_get(b, "k", sync_cb, &o)), KVW_OK);
    assert_true(kvw_version_equal(&o.version, &v));
    assert_int_equal(sync_wait(&o, kvw_delete(b, "k", sync_cb, &o)), KVW_OK);
    assert_int_equal(sync_wait(&o, kvw_get_entry(b, "k", sync_cb, &o)), KVW_OK);
    assert_int_equal(o.entry_op, KVW_ENTRY_DELETE);
    assert_int_equal(sync_wait(&o, kvw_create(b, "k", "v2", 2, sync_cb, &o)), KVW_OK);
    assert_int_equal(sync_wait(&o, kvw_create(b, "k", "v3", 2, sync_cb, &o)), KVW_EEXIST);
    kvw_bucket_free(b);
    pthread_cond_destroy(&o.cv);
    pthread_mutex_destroy(&o.mu);
}

/* ------------------------------------------------------------------------
 * Transactions on an R3 bucket (nats-server 2.12+) while the stream leader
 * is SIGKILLed: every commit gets one outcome, and each transaction is
 * wholly present or wholly absent on a survivor; an OK one is present, a
 * definitely failed one absent. */
enum { TXN_MAX = 20000, TXN_KEYS = 3, TXN_WINDOW = 32, TXN_RATE = 1000 /* commits/s */ };

typedef struct txn_load {
    kvw_bucket *bucket;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight, submitted, stop;
    int status[TXN_MAX];  /* 1 + the commit's status once it ended; 0 while pending */
    int calls[TXN_MAX];
    int64_t done_ms[TXN_MAX];
    int last_ok;          /* highest index that ended OK */
    char first_failure[200];
} txn_load;

typedef struct txn_ref {
    txn_load *l;
    int i;
} txn_ref;

static void txn_cb(const kvw_result *r, void *user_data)
{
    txn_ref *ref = user_data;
    txn_load *l = ref->l;
    pthread_mutex_lock(&l->mu);
    l->status[ref->i] = 1 + r->status;
    l->calls[ref->i]++;
    l->done_ms[ref->i] = kt_now_ms();
    if (r->status == KVW_OK && ref->i > l->last_ok)
        l->last_ok = ref->i;
    if (r->status != KVW_OK && !l->first_failure[0])
        snprintf(l->first_failure, sizeof l->first_failure, "%s: %s", kvw_err_name(r->status), r->message);
    l->inflight--;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    free(ref);
}

static void *txn_main(void *p)
{
    txn_load *l = p;
    kvw_txn *t = NULL;
    if (kvw_txn_new(&t, l->bucket) != 0)
        return NULL;
    const int64_t start = kt_now_ms();
    for (int i = 0; i < TXN_MAX; i++) {
        while (kt_now_ms() < start + i * 1000 / TXN_RATE) /* paced: the kill comes long before TXN_MAX */
            kt_sleep_ms(1);
        pthread_mutex_lock(&l->mu);
        while (l->inflight >= TXN_WINDOW && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        int stop = l->stop;
        if (!stop)
            l->inflight++;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        char key[32], val[16];
        snprintf(val, sizeof val, "%d", i);
        for (int k = 0; k < TXN_KEYS; k++) {
            snprintf(key, sizeof key, "t%d.k%d", i, k);
            kvw_txn_put(t, key, val, strlen(val));
        }
        txn_ref *ref = malloc(sizeof *ref);
        ref->l = l;
        ref->i = i;
        int rc = kvw_txn_commit(t, txn_cb, ref);
        pthread_mutex_lock(&l->mu);
        if (rc != 0) { /* refused at submit: no outcome will come, nothing sent */
            l->inflight--;
            l->status[i] = 1 + rc;
            l->calls[i] = 1;
            free(ref);
        }
        l->submitted = i + 1;
        pthread_mutex_unlock(&l->mu);
    }
    kvw_txn_free(t);
    return NULL;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, status, statuses[3];
    uint64_t versions[3];
} many_out;

static void many_out_cb(const kvw_result *r, void *user_data)
{
    many_out *m = user_data;
    pthread_mutex_lock(&m->mu);
    m->status = r->status;
    for (size_t i = 0; i < r->entry_count && i < 3; i++) {
        m->statuses[i] = r->entries[i].status;
        kvw_version_to_u64(&r->entries[i].version, &m->versions[i]);
    }
    m->done = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void test_transactions_through_failover(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    g_op_timeout_ms = 5000;
    client_on_cluster(c, &f->client);
    const int server = kvw_client_server_version(f->client);
    if (server < 21200) {
        print_message("[  SKIP    ] transactions need nats-server 2.12 or newer (this is %d.%d.%d)\n",
                      server / 10000, server / 100 % 100, server % 100);
        skip();
    }
    kvw_client_free(f->client);
    f->client = NULL;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.allow_atomic = 1;
    char bucket[64], stream[80];
    open_r3_with(c, &f->client, &f->bucket, bo, bucket, stream);
    assert_int_equal(kvw_bucket_supports(f->bucket, KVW_FEATURE_ATOMIC_BATCH), 1);

    /* On R3 too: a refusal names the key and its version; create writes over a marker. */
    {
        sync_op o;
        sync_init(&o);
        assert_int_equal(sync_wait(&o, kvw_put(f->bucket, "b", "1", 1, sync_cb, &o)), KVW_OK);
        kvw_version stale = o.version;
        assert_int_equal(sync_wait(&o, kvw_put(f->bucket, "b", "2", 1, sync_cb, &o)), KVW_OK);
        kvw_version current = o.version;
        assert_int_equal(sync_wait(&o, kvw_put(f->bucket, "m", "1", 1, sync_cb, &o)), KVW_OK);
        assert_int_equal(sync_wait(&o, kvw_delete(f->bucket, "m", sync_cb, &o)), KVW_OK);
        kvw_txn *t = NULL;
        assert_int_equal(kvw_txn_new(&t, f->bucket), 0);
        assert_int_equal(kvw_txn_put(t, "x", "x", 1), 0);
        assert_int_equal(kvw_txn_create(t, "m", "again", 5), 0);
        assert_int_equal(kvw_txn_update(t, "b", "3", 1, &stale), 0);
        assert_int_equal(sync_wait(&o, kvw_txn_commit(t, sync_cb, &o)), KVW_ECONFLICT);
        assert_true(kvw_version_equal(&o.version, &current));
        assert_string_equal(o.key, "b");
        assert_int_equal(kvw_txn_create(t, "m", "again", 5), 0);
        assert_int_equal(kvw_txn_update(t, "b", "3", 1, &current), 0);
        assert_int_equal(sync_wait(&o, kvw_txn_commit(t, sync_cb, &o)), KVW_OK);
        kvw_txn_free(t);
        uint64_t first = 0;
        kvw_version_to_u64(&o.version, &first); /* m at first, b at first + 1 */
        /* The multi-key read of this client sees the commit (checked reads). */
        many_out mo;
        memset(&mo, 0, sizeof mo);
        pthread_mutex_init(&mo.mu, NULL);
        pthread_cond_init(&mo.cv, NULL);
        const char *keys[] = {"m", "b", "x"};
        assert_int_equal(kvw_get_many(f->bucket, keys, 3, many_out_cb, &mo), 0);
        pthread_mutex_lock(&mo.mu);
        while (!mo.done)
            pthread_cond_wait(&mo.cv, &mo.mu);
        pthread_mutex_unlock(&mo.mu);
        assert_int_equal(mo.status, KVW_OK);
        assert_int_equal(mo.versions[0], first);
        assert_int_equal(mo.versions[1], first + 1);
        assert_int_equal(mo.statuses[2], KVW_ENOTFOUND);
        pthread_cond_destroy(&mo.cv);
        pthread_mutex_destroy(&mo.mu);
        assert_int_equal(sync_wait(&o, kvw_get(f->bucket, "x", sync_cb, &o)), KVW_ENOTFOUND);
        assert_int_equal(sync_wait(&o, kvw_get(f->bucket, "m", sync_cb, &o)), KVW_OK);
        pthread_cond_destroy(&o.cv);
        pthread_mutex_destroy(&o.mu);
    }

    txn_load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->bucket = f->bucket;
    l->last_ok = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, txn_main, l), 0);
    kt_sleep_ms(1500);

    char name[32];
    int victim = leader_of(c, stream, name, sizeof name);
    assert_true(victim >= 0);
    pthread_mutex_lock(&l->mu);
    int at = l->submitted;
    pthread_mutex_unlock(&l->mu);
    int64_t t0 = kt_now_ms();
    assert_int_equal(ts_server_kill(c->node[victim]), 0);
    int64_t resumed = -1;
    while (kt_now_ms() - t0 < RESUME_MS) {
        pthread_mutex_lock(&l->mu);
        int last_ok = l->last_ok;
        pthread_mutex_unlock(&l->mu);
        if (last_ok >= at) {
            resumed = kt_now_ms() - t0;
            break;
        }
        kt_sleep_ms(10);
    }
    if (resumed < 0)
        fail_msg("no commit submitted after killing leader %s succeeded within %d ms (first failure: %s)", name,
                 RESUME_MS, l->first_failure);
    kt_sleep_ms(2000);
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(th, NULL);
    pthread_mutex_lock(&l->mu);
    while (l->inflight > 0)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    assert_int_equal(kvw_client_close(f->client), 0);

    /* Each transaction, read through a survivor with nats.c (which may still
     * be settling after the kill: its answers are retried for a while). */
    kt_nats n;
    assert_int_equal(kt_nats_open(&n, ts_server_url(c->node[any_up(c, victim)])), 0);
    kvStore *kv = NULL;
    natsStatus kst = NATS_ERR;
    for (int64_t dl = kt_now_ms() + 15000; kst != NATS_OK && kt_now_ms() < dl;) {
        kst = js_KeyValue(&kv, n.js, bucket);
        if (kst != NATS_OK)
            kt_sleep_ms(200);
    }
    assert_int_equal(kst, NATS_OK);
    int ok = 0, unknown = 0, failed = 0, whole = 0, absent = 0;
    for (int i = 0; i < l->submitted; i++) {
        assert_int_equal(l->calls[i], 1);
        const int status = l->status[i] - 1;
        int present = 0;
        for (int k = 0; k < TXN_KEYS; k++) {
            char key[32], val[16];
            snprintf(key, sizeof key, "t%d.k%d", i, k);
            snprintf(val, sizeof val, "%d", i);
            kvEntry *e = NULL;
            natsStatus st = kvStore_Get(&e, kv, key);
            for (int64_t dl = kt_now_ms() + 15000; st != NATS_OK && st != NATS_NOT_FOUND && kt_now_ms() < dl;) {
                kt_sleep_ms(200);
                st = kvStore_Get(&e, kv, key);
            }
            assert_true(st == NATS_OK || st == NATS_NOT_FOUND);
            if (st == NATS_OK) {
                present++;
                assert_int_equal(kvEntry_ValueLen(e), (int)strlen(val));
                assert_memory_equal(kvEntry_Value(e), val, strlen(val));
            }
            kvEntry_Destroy(e);
        }
        if (present != 0 && present != TXN_KEYS)
            fail_msg("transaction %d: %d of its %d keys on a survivor (%s)", i, present, TXN_KEYS,
                     kvw_err_name(status));
        if (status == KVW_OK) {
            ok++;
            assert_int_equal(present, TXN_KEYS);
        } else if (kvw_err_outcome_unknown(status)) {
            unknown++;
        } else {
            failed++;
            assert_int_equal(present, 0);
        }
        whole += present == TXN_KEYS;
        absent += present == 0;
    }
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    print_message("FIGURES cluster failover, transactions of %d keys (R3, leader %s SIGKILLed): commits %d, OK %d, "
                  "outcome unknown %d, failed %d; on a survivor: whole %d, absent %d, partial 0; commits "
                  "resumed %lld ms after the kill; first failure: %s\n",
                  TXN_KEYS, name, l->submitted, ok, unknown, failed, whole, absent, (long long)resumed,
                  l->first_failure[0] ? l->first_failure : "none");
    assert_true(ok > 0);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---- bulk writes (fast-ingest batches, 2.14+) through a leader kill */

enum { BULK_MAX = 60000, BULK_RATE = 4000 /* writes/s */ };

typedef struct bulk_load {
    kvw_bucket *bucket;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int submitted, stop, pending;
    int status[BULK_MAX]; /* 1 + the write's status once it ended; 0 while pending */
    int calls[BULK_MAX];
    int last_ok;
    char first_failure[200];
} bulk_load;

typedef struct bulk_ref {
    bulk_load *l;
    int i;
} bulk_ref;

static bulk_ref g_bulk_refs[BULK_MAX];

static void bulk_cb(const kvw_result *r, void *user_data)
{
    bulk_ref *ref = user_data;
    bulk_load *l = ref->l;
    pthread_mutex_lock(&l->mu);
    l->status[ref->i] = 1 + r->status;
    l->calls[ref->i]++;
    l->pending--;
    if (r->status == KVW_OK && ref->i > l->last_ok)
        l->last_ok = ref->i;
    if (r->status != KVW_OK && !l->first_failure[0])
        snprintf(l->first_failure, sizeof l->first_failure, "%s: %s", kvw_err_name(r->status), r->message);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void *bulk_main(void *p)
{
    bulk_load *l = p;
    const int64_t start = kt_now_ms();
    for (int i = 0; i < BULK_MAX; i++) {
        while (kt_now_ms() < start + (int64_t)i * 1000 / BULK_RATE)
            kt_sleep_ms(1);
        pthread_mutex_lock(&l->mu);
        int stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        char key[32], val[16];
        snprintf(key, sizeof key, "b%d", i);
        snprintf(val, sizeof val, "%d", i);
        g_bulk_refs[i] = (bulk_ref){l, i};
        int rc;
        while ((rc = kvw_put(l->bucket, key, val, strlen(val), bulk_cb, &g_bulk_refs[i])) == KVW_EBUSY)
            kt_sleep_ms(1);
        pthread_mutex_lock(&l->mu);
        if (rc != 0) { /* refused at submit: no outcome will come, nothing sent */
            l->status[i] = 1 + rc;
            l->calls[i] = 1;
        } else {
            l->pending++;
        }
        l->submitted = i + 1;
        pthread_mutex_unlock(&l->mu);
    }
    return NULL;
}

/* A bulk handle on an R3 bucket loads while the stream leader is SIGKILLed:
 * every write ends once; each one reported stored reads back through a
 * survivor (nats.c), each one refused is absent there. */
static void test_bulk_through_failover(void **state)
{
    fixture *f = *state;
    rel_cluster *c = &g_cluster;
    g_op_timeout_ms = 5000;
    client_on_cluster(c, &f->client);
    const int server = kvw_client_server_version(f->client);
    if (server < 21400) {
        print_message("[  SKIP    ] bulk handles need nats-server 2.14 or newer (this is %d.%d.%d)\n",
                      server / 10000, server / 100 % 100, server % 100);
        skip();
    }
    kvw_client_free(f->client);
    f->client = NULL;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.allow_batched = 1;
    bo.bulk = 1;
    char bucket[64], stream[80];
    open_r3_with(c, &f->client, &f->bucket, bo, bucket, stream);

    bulk_load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->bucket = f->bucket;
    l->last_ok = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bulk_main, l), 0);
    kt_sleep_ms(1500);
    char name[32];
    int victim = leader_of(c, stream, name, sizeof name);
    assert_true(victim >= 0);
    pthread_mutex_lock(&l->mu);
    int at = l->submitted;
    pthread_mutex_unlock(&l->mu);
    int64_t t0 = kt_now_ms();
    assert_int_equal(ts_server_kill(c->node[victim]), 0);
    int64_t resumed = -1;
    while (kt_now_ms() - t0 < RESUME_MS) {
        pthread_mutex_lock(&l->mu);
        int last_ok = l->last_ok;
        pthread_mutex_unlock(&l->mu);
        if (last_ok >= at) {
            resumed = kt_now_ms() - t0;
            break;
        }
        kt_sleep_ms(10);
    }
    if (resumed < 0)
        fail_msg("no write submitted after killing leader %s was stored within %d ms (first failure: %s)", name,
                 RESUME_MS, l->first_failure);
    kt_sleep_ms(2000);
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_mutex_unlock(&l->mu);
    pthread_join(th, NULL);
    pthread_mutex_lock(&l->mu);
    while (l->pending > 0)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    assert_int_equal(kvw_client_close(f->client), 0);

    kt_nats n;
    assert_int_equal(kt_nats_open(&n, ts_server_url(c->node[any_up(c, victim)])), 0);
    kvStore *kv = NULL;
    natsStatus kst = NATS_ERR;
    for (int64_t dl = kt_now_ms() + 15000; kst != NATS_OK && kt_now_ms() < dl;) {
        kst = js_KeyValue(&kv, n.js, bucket);
        if (kst != NATS_OK)
            kt_sleep_ms(200);
    }
    assert_int_equal(kst, NATS_OK);
    int ok = 0, unknown = 0, unknown_stored = 0, failed = 0;
    for (int i = 0; i < l->submitted; i++) {
        assert_int_equal(l->calls[i], 1);
        const int status = l->status[i] - 1;
        char key[32], val[16];
        snprintf(key, sizeof key, "b%d", i);
        snprintf(val, sizeof val, "%d", i);
        kvEntry *e = NULL;
        natsStatus st = kvStore_Get(&e, kv, key);
        for (int64_t dl = kt_now_ms() + 15000; st != NATS_OK && st != NATS_NOT_FOUND && kt_now_ms() < dl;) {
            kt_sleep_ms(200);
            st = kvStore_Get(&e, kv, key);
        }
        assert_true(st == NATS_OK || st == NATS_NOT_FOUND);
        if (st == NATS_OK) {
            assert_int_equal(kvEntry_ValueLen(e), (int)strlen(val));
            assert_memory_equal(kvEntry_Value(e), val, strlen(val));
        }
        kvEntry_Destroy(e);
        if (status == KVW_OK) {
            ok++;
            if (st != NATS_OK)
                fail_msg("write %d: OK, but not on survivor (leader %s killed)", i, name);
        } else if (kvw_err_outcome_unknown(status)) {
            unknown++;
            unknown_stored += st == NATS_OK;
        } else {
            failed++;
            if (st == NATS_OK)
                fail_msg("write %d: %s, but on a survivor", i, kvw_err_name(status));
        }
    }
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    print_message("FIGURES cluster failover, bulk handle (R3, leader %s SIGKILLed): writes %d, OK %d, outcome "
                  "unknown %d (%d of them stored), failed %d; writes resumed %lld ms after the kill; first "
                  "failure: %s\n",
                  name, l->submitted, ok, unknown, unknown_stored, failed, (long long)resumed,
                  l->first_failure[0] ? l->first_failure : "none");
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_stream_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_within_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_without_resends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_calls_through_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_ack_on_r3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_cas_conflicts_are_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_on_r3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_see_completed_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_at_least_across_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_without_direct_gets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions_through_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_through_failover, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("reliability/cluster", tests, group_setup, group_teardown);
}
