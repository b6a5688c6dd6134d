/*
 * txn: transactions (kvw.h, TRANSACTIONS; atomic batches of nats-server
 * 2.12+, ADR-50) and the multi-key reads that pair with them (MULTI-KEY
 * READS; multi_last direct gets of 2.11+) on whatever server
 * $NATS_SERVER_BIN is. On older servers kvw must refuse them with
 * KVW_ENOTSUP; the other cases then skip. What a transaction stored is read
 * back with nats.c's kvStore_* (a client kvw did not write), including
 * while transactions race and across a server kill.
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
static kt_nats g_nats;
static int g_version; /* the server's, as kvw reports it */

#define ATOMIC_SERVER 21200
#define GET_MANY_SERVER 21100

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
    *state = kt_ctx_new(g_server);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    if (!ts_server_running(g_server)) ts_server_start(g_server);
    kt_ctx_free(*state);
    return 0;
}

static void skip_before_atomic_server(void)
{
    if (g_version < ATOMIC_SERVER) {
        print_message("[  SKIP    ] needs nats-server 2.12 or newer (this is %d.%d.%d)\n", g_version / 10000,
                      g_version / 100 % 100, g_version % 100);
        skip();
    }
}

static void open_atomic(kt_ctx *ctx, const kvw_client_options *o, int history)
{
    skip_before_atomic_server();
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = history;
    bo.allow_atomic = 1;
    kt_open(ctx, o, "txn", &bo);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_ATOMIC_BATCH), 1);
}

static kvw_txn *txn_new(kt_ctx *ctx)
{
    kvw_txn *t = NULL;
    assert_int_equal(kvw_txn_new(&t, ctx->bucket), 0);
    return t;
}

/* Commits (and frees) `t`, waits for its callback. */
static kt_rec *commit(kt_ctx *ctx, kvw_txn *t)
{
    kt_rec *r = kt_rec_new(ctx);
    assert_int_equal(kvw_txn_commit(t, kt_rec_cb, r), 0);
    assert_int_equal(kvw_txn_len(t), 0); /* accepted: the handle is empty again */
    kvw_txn_free(t);
    assert_int_equal(kt_rec_wait(r), 0);
    return r;
}

/* nats.c's view of `key`: its revision and operation, value into buf;
 * 0 when the key has no entry at all. */
static uint64_t nats_entry(kt_ctx *ctx, const char *key, char *buf, size_t size, kvOperation *op)
{
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    assert_int_equal(js_KeyValue(&kv, g_nats.js, ctx->bucket_name), NATS_OK);
    /* kvStore_Get hides DEL/PURGE markers; kvStore_History shows the latest record. */
    kvEntryList l;
    memset(&l, 0, sizeof l);
    natsStatus s = kvStore_History(&l, kv, key, NULL);
    uint64_t rev = 0;
    if (s == NATS_OK && l.Count > 0) {
        e = l.Entries[l.Count - 1];
        rev = kvEntry_Revision(e);
        if (op) *op = kvEntry_Operation(e);
        int n = kvEntry_ValueLen(e);
        if (buf) snprintf(buf, size, "%.*s", n, n > 0 ? (const char *)kvEntry_Value(e) : "");
    } else {
        assert_int_equal(s, NATS_NOT_FOUND);
    }
    kvEntryList_Destroy(&l);
    kvStore_Destroy(kv);
    return rev;
}

/* ------------------------------------------------------------- cases */

static void test_refused_without_atomic_bucket(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "plain", NULL); /* no allow_atomic */
    kvw_txn *t = (kvw_txn *)1;
    assert_int_equal(kvw_txn_new(&t, ctx->bucket), KVW_ENOTSUP);
    assert_null(t);
    const char *why = kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_ATOMIC_BATCH);
    print_message("  without allow_atomic: %s\n", why);
    assert_non_null(strstr(why, g_version < ATOMIC_SERVER ? "2.12" : "allow_atomic"));

    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.allow_atomic = 1;
    char name[64];
    kt_unique_name(name, sizeof name, "atomic");
    kvw_bucket *b = NULL;
    int rc = kvw_bucket_open(&b, ctx->client, name, &bo);
    if (g_version < ATOMIC_SERVER) {
        assert_int_equal(rc, KVW_ENOTSUP); /* before any request: nothing was created */
        assert_null(b);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(kvw_bucket_supports(b, KVW_FEATURE_ATOMIC_BATCH), 1);
    kvw_bucket_free(b);
}

static void test_bad_input(void **state)
{
    kt_ctx *ctx = *state;
    open_atomic(ctx, NULL, 1);
    kvw_txn *t = txn_new(ctx);
    kvw_version v = kvw_version_from_u64(3), unknown = KVW_VERSION_UNKNOWN_INIT;
    assert_int_equal(kvw_txn_new(NULL, ctx->bucket), KVW_EINVAL);
    kvw_txn *none = (kvw_txn *)1;
    assert_int_equal(kvw_txn_new(&none, NULL), KVW_EINVAL);
    assert_null(none);
    assert_int_equal(kvw_txn_put(NULL, "k", "v", 1), KVW_EINVAL);
    assert_int_equal(kvw_txn_put(t, NULL, "v", 1), KVW_EINVAL);
    assert_int_equal(kvw_txn_put(t, "k", NULL, 1), KVW_EINVAL);
    assert_int_equal(kvw_txn_put(t, "bad key", "v", 1), KVW_EBADKEY);
    assert_int_equal(kvw_txn_put(t, ".k", "v", 1), KVW_EBADKEY);
    assert_int_equal(kvw_txn_update(t, "k", "v", 1, NULL), KVW_EINVAL);
    assert_int_equal(kvw_txn_update(t, "k", "v", 1, &unknown), KVW_EBADVERSION);
    assert_int_equal(kvw_txn_delete_with_version(t, "k", &unknown), KVW_EBADVERSION);
    size_t big = (size_t)kvw_bucket_max_value_size(ctx->bucket);
    char *huge = calloc(1, big);
    assert_non_null(huge);
    assert_int_equal(kvw_txn_put(t, "k", huge, big), KVW_ETOOBIG);
    free(huge);
    assert_int_equal(kvw_txn_len(t), 0); /* nothing refused was added */
    assert_int_equal(kvw_txn_commit(t, kt_rec_cb, NULL), KVW_EINVAL); /* empty */
    assert_int_equal(kvw_txn_len(NULL), KVW_EINVAL);

    /* A CAS write on a key the transaction already writes: the server
     * checks expectations against the state before the batch. */
    assert_int_equal(kvw_txn_put(t, "k", "v", 1), 0);
    assert_int_equal(kvw_txn_update(t, "k", "v", 1, &v), KVW_EINVAL);
    assert_int_equal(kvw_txn_create(t, "k", "v", 1), KVW_EINVAL);
    assert_int_equal(kvw_txn_delete_with_version(t, "k", &v), KVW_EINVAL);
    assert_int_equal(kvw_txn_put(t, "k", "w", 1), 0); /* a plain write twice: the last one stays */
    assert_int_equal(kvw_txn_commit(t, NULL, NULL), KVW_EINVAL);
    assert_int_equal(kvw_txn_commit(NULL, kt_rec_cb, NULL), KVW_EINVAL);
    assert_int_equal(kvw_txn_len(t), 2);

    /* The batch limit, before any I/O. */
    char key[32];
    for (int i = 2; i < KVW_TXN_MAX_WRITES; i++) {
        snprintf(key, sizeof key, "n%d", i);
        assert_int_equal(kvw_txn_delete(t, key), 0);
    }
    assert_int_equal(kvw_txn_put(t, "one.more", "v", 1), KVW_ETOOBIG);
    assert_int_equal(kvw_txn_len(t), KVW_TXN_MAX_WRITES);
    kvw_txn_free(t);
    kvw_txn_free(NULL);

    kvw_result r;
    memset(&r, 0, sizeof r);
    r.op = KVW_OP_TXN;
    r.version = kvw_version_from_u64(10);
    r.txn_writes = 2;
    uint64_t rev = 0;
    kvw_version w1 = kvw_txn_write_version(&r, 1);
    assert_int_equal(kvw_version_to_u64(&w1, &rev), 0);
    assert_int_equal(rev, 11);
    kvw_version w2 = kvw_txn_write_version(&r, 2);
    assert_true(kvw_version_is_unknown(&w2));
    r.status = KVW_ECONFLICT;
    kvw_version w0 = kvw_txn_write_version(&r, 0);
    assert_true(kvw_version_is_unknown(&w0));
    kvw_version wn = kvw_txn_write_version(NULL, 0);
    assert_true(kvw_version_is_unknown(&wn));
}

/* Every write kind in one transaction, read back with nats.c. */
static void test_commit_every_kind(void **state)
{
    kt_ctx *ctx = *state;
    open_atomic(ctx, NULL, 1);
    kt_rec *u = kt_put_s(ctx, ctx->bucket, "u", "u1");
    kt_rec *dv = kt_put_s(ctx, ctx->bucket, "dv", "x");
    kt_put_s(ctx, ctx->bucket, "m", "gone");
    kt_assert_status(kt_delete(ctx, ctx->bucket, "m"), KVW_OK); /* a DEL marker: create may write over it */

    kvw_txn *t = txn_new(ctx);
    assert_int_equal(kvw_txn_put(t, "p", "pv", 2), 0);
    assert_int_equal(kvw_txn_create(t, "c", "cv", 2), 0);
    assert_int_equal(kvw_txn_create(t, "m", "mv", 2), 0);
    assert_int_equal(kvw_txn_update(t, "u", "u2", 2, &u->version), 0);
    assert_int_equal(kvw_txn_delete(t, "d"), 0);
    assert_int_equal(kvw_txn_delete_with_version(t, "dv", &dv->version), 0);
    assert_int_equal(kvw_txn_len(t), 6);
    kt_rec *r = commit(ctx, t);
    kt_assert_status(r, KVW_OK);
    assert_int_equal(r->op, KVW_OP_TXN);
    assert_int_equal(r->txn_writes, 6);
    print_message("  committed 6 writes at versions %llu..%llu\n", (unsigned long long)kt_rev(r->version),
                  (unsigned long long)kt_rev(r->version) + 5);

    static const char *keys[] = {"p", "c", "m", "u", "d", "dv"};
    static const char *values[] = {"pv", "cv", "mv", "u2", "", ""};
    for (size_t i = 0; i < 6; i++) {
        char buf[16];
        kvOperation op = kvOp_Unknown;
        uint64_t rev = nats_entry(ctx, keys[i], buf, sizeof buf, &op);
        assert_int_equal(rev, kt_rev(r->version) + i); /* consecutive, in the order added */
        assert_string_equal(buf, values[i]);
        assert_int_equal(op, strcmp(keys[i], "d") == 0 ? kvOp_Delete : kvOp_Put);
    }
    /* The client's own reads agree. */
    kt_rec *g = kt_get(ctx, ctx->bucket, "m");
    kt_assert_status(g, KVW_OK);
    assert_string_equal((const char *)g->value, "mv");
    kt_assert_status(kt_get(ctx, ctx->bucket, "dv"), KVW_ENOTFOUND); /* a tombstone */
}

/* A failed expectation: nothing of the transaction is stored, and the
 * result names the key and its current version. */
static void test_conflict_stores_nothing(void **state)
{
    kt_ctx *ctx = *state;
    open_atomic(ctx, NULL, 1);
    kt_rec *a = kt_put_s(ctx, ctx->bucket, "a", "a1");
    kt_rec *b1 = kt_put_s(ctx, ctx->bucket, "b", "b1");
    kt_rec *b2 = kt_put_s(ctx, ctx->bucket, "b", "b2"); /* b1's version is stale now */

    kvw_txn *t = txn_new(ctx);
    assert_int_equal(kvw_txn_put(t, "x", "x", 1), 0);
    assert_int_equal(kvw_txn_update(t, "a", "a2", 2, &a->version), 0);
    assert_int_equal(kvw_txn_update(t, "b", "b3", 2, &b1->version), 0);
    kt_rec *r = commit(ctx, t);
    kt_assert_status(r, KVW_ECONFLICT);
    print_message("  %s\n", r->message);
    assert_string_equal(r->key, "b");
    assert_int_equal(kt_rev(r->version), kt_rev(b2->version));
    assert_int_equal(r->txn_writes, 0);
    assert_int_equal(nats_entry(ctx, "x", NULL, 0, NULL), 0);
    char buf[8];
    assert_int_equal(nats_entry(ctx, "a", buf, sizeof buf, NULL), kt_rev(a->version));
    assert_string_equal(buf, "a1");

    /* update of a key that has no record */
    t = txn_new(ctx);
    assert_int_equal(kvw_txn_put(t, "x", "x", 1), 0);
    assert_int_equal(kvw_txn_update(t, "never", "v", 1, &a->version), 0);
    r = commit(ctx, t);
    kt_assert_status(r, KVW_ECONFLICT);
    assert_string_equal(r->key, "never");
    assert_true(kvw_version_is_unknown(&r->version));

    /* create over a live value, and over a tombstone: the key exists */
    kt_rec *tomb = kt_put_s(ctx, ctx->bucket, "tomb", "t");
    kt_assert_status(kt_delete_v(ctx, ctx->bucket, "tomb", tomb->version), KVW_OK);
    static const char *existing[] = {"a", "tomb"};
    for (int i = 0; i < 2; i++) {
        t = txn_new(ctx);
        assert_int_equal(kvw_txn_put(t, "x", "x", 1), 0);
        assert_int_equal(kvw_txn_update(t, "b", "b3", 2, &b2->version), 0); /* would succeed */
        assert_int_equal(kvw_txn_create(t, existing[i], "c", 1), 0);
        r = commit(ctx, t);
        kt_assert_status(r, KVW_EEXIST);
        assert_string_equal(r->key, existing[i]);
        assert_false(kvw_version_is_unknown(&r->version));
    }
    assert_int_equal(nats_entry(ctx, "x", NULL, 0, NULL), 0);
    assert_int_equal(nats_entry(ctx, "b", NULL, 0, NULL), kt_rev(b2->version));
}

/* Two transactions with the same expectations on overlapping keys, from
 * two clients (two connections: either may reach the server first), many
 * times: exactly one of each pair commits. */
static void test_racing_transactions_one_wins(void **state)
{
    kt_ctx *ctx = *state;
    open_atomic(ctx, NULL, 1);
    kvw_client_options o;
    kt_client_options(ctx, &o);
    kvw_client *c2 = NULL;
    kvw_bucket *b2 = NULL;
    assert_int_equal(kvw_client_open(&c2, &o), 0);
    assert_int_equal(kvw_bucket_open(&b2, c2, ctx->bucket_name, NULL), 0);
    kt_rec *k[3];
    k[0] = kt_put_s(ctx, ctx->bucket, "k0", "0");
    k[1] = kt_put_s(ctx, ctx->bucket, "k1", "0");
    k[2] = kt_put_s(ctx, ctx->bucket, "k2", "0");
    kvw_version v[3] = {k[0]->version, k[1]->version, k[2]->version};
    enum { ROUNDS = 200 };
    int wins[2] = {0, 0};
    for (int round = 0; round < ROUNDS; round++) {
        kvw_txn *a = txn_new(ctx), *b = NULL;
        assert_int_equal(kvw_txn_new(&b, b2), 0);
        assert_int_equal(kvw_txn_update(a, "k0", "a", 1, &v[0]), 0);
        assert_int_equal(kvw_txn_update(a, "k1", "a", 1, &v[1]), 0);
        assert_int_equal(kvw_txn_update(b, "k1", "b", 1, &v[1]), 0);
        assert_int_equal(kvw_txn_update(b, "k2", "b", 1, &v[2]), 0);
        kt_rec *ra = kt_rec_new(ctx), *rb = kt_rec_new(ctx);
        assert_int_equal(kvw_txn_commit(a, kt_rec_cb, ra), 0);
        assert_int_equal(kvw_txn_commit(b, kt_rec_cb, rb), 0);
        kvw_txn_free(a);
        kvw_txn_free(b);
        assert_int_equal(kt_rec_wait(ra), 0);
        assert_int_equal(kt_rec_wait(rb), 0);
        const int a_won = ra->status == KVW_OK, b_won = rb->status == KVW_OK;
        if (a_won == b_won)
            fail_msg("round %d: a %s (%s), b %s (%s)", round, ra->status_name, ra->message, rb->status_name,
                     rb->message);
        kt_rec *winner = a_won ? ra : rb, *loser = a_won ? rb : ra;
        assert_int_equal(loser->status, KVW_ECONFLICT);
        wins[a_won ? 0 : 1]++;
        /* The winner's versions are the ones to expect next. */
        kvw_version w0 = kvw_txn_write_version(&(kvw_result){.op = KVW_OP_TXN, .version = winner->version,
                                                               .txn_writes = 2},
                                               0);
        kvw_version w1 = kvw_version_from_u64(kt_rev(winner->version) + 1);
        if (a_won) {
            v[0] = w0;
            v[1] = w1;
        } else {
            v[1] = w0;
            v[2] = w1;
        }
    }
    kvw_bucket_free(b2);
    kvw_client_free(c2);
    print_message("  %d rounds: the first client's transaction won %d, the second's %d\n", ROUNDS, wins[0],
                  wins[1]);
    /* What nats.c reads is what the winners wrote. */
    assert_int_equal(nats_entry(ctx, "k1", NULL, 0, NULL), kt_rev(v[1]));
    assert_int_equal(nats_entry(ctx, "k0", NULL, 0, NULL), kt_rev(v[0]));
    assert_int_equal(nats_entry(ctx, "k2", NULL, 0, NULL), kt_rev(v[2]));
}

/* A reader polling with nats.c while two clients race transactions that
 * each write key a, a filler and key b (stored one after the other, so b's
 * version is a's + 2 after every commit): reading a then b it must find b
 * at least a + 2, and reading b then a, a at least b - 2. Half a
 * transaction (a stored without its b, or b without its a) breaks one. Memory storage: the property is
 * the server's visibility, and file storage would only make it slower. */
typedef struct {
    kt_ctx *ctx;
    int stop; /* atomic: set by the test thread */
    long reads, torn;
    char first_torn[128];
} poller;

static uint64_t revision_of(kvStore *kv, const char *key)
{
    kvEntry *e = NULL;
    if (kvStore_Get(&e, kv, key) != NATS_OK) return 0;
    uint64_t rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return rev;
}

static void *poll_main(void *arg)
{
    poller *p = arg;
    kvStore *kv = NULL;
    if (js_KeyValue(&kv, g_nats.js, p->ctx->bucket_name) != NATS_OK) return NULL;
    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        const int a_first = p->reads % 2 == 0;
        uint64_t x = revision_of(kv, a_first ? "a" : "b"), y = revision_of(kv, a_first ? "b" : "a");
        p->reads++;
        if (x == 0 || y == 0) continue; /* before the first commit */
        const int torn = a_first ? y < x + 2 : y + 2 < x;
        if (torn && p->torn++ == 0)
            snprintf(p->first_torn, sizeof p->first_torn, "%s at %llu, then %s at %llu", a_first ? "a" : "b",
                     (unsigned long long)x, a_first ? "b" : "a", (unsigned long long)y);
    }
    kvStore_Destroy(kv);
    return NULL;
}

typedef struct {
    kvw_bucket *bucket;
    int n, ok;
    char first_error[160];
} racer;

static void racer_cb(const kvw_result *r, void *user_data)
{
    kt_waiter *w = user_data;
    if (r->status != KVW_OK) fprintf(stderr, "txn: %s: %s\n", kvw_err_name(r->status), r->message);
    else kt_waiter_signal(w); /* counts the OK ones */
}

static void *racer_main(void *arg)
{
    racer *rc = arg;
    kt_waiter ok;
    kt_waiter_init(&ok);
    kvw_txn *t = NULL;
    if (kvw_txn_new(&t, rc->bucket) != 0) return NULL;
    enum { WINDOW = 16 };
    for (int i = 0; i < rc->n; i++) {
        kvw_txn_put(t, "a", "x", 1);
        kvw_txn_put(t, "filler", "f", 1);
        kvw_txn_put(t, "b", "x", 1);
        if (i >= WINDOW && kt_waiter_wait(&ok, i - WINDOW + 1, KT_TIMEOUT_MS) != 0) break;
        int r;
        while ((r = kvw_txn_commit(t, racer_cb, &ok)) == KVW_EBUSY) kt_sleep_ms(1);
        if (r != 0) {
            snprintf(rc->first_error, sizeof rc->first_error, "commit %d refused: %s", i, kvw_err_name(r));
            break;
        }
    }
    kt_waiter_wait(&ok, rc->n, KT_TIMEOUT_MS);
    rc->ok = (int)kt_waiter_count(&ok);
    kvw_txn_free(t);
    kt_waiter_destroy(&ok);
    return NULL;
}

static void test_never_half_visible(void **state)
{
    kt_ctx *ctx = *state;
    skip_before_atomic_server();
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.allow_atomic = 1;
    bo.storage = KVW_STORAGE_MEMORY;
    kt_open(ctx, NULL, "txnvis", &bo);
    kvw_client_options o;
    kt_client_options(ctx, &o);
    kvw_client *c2 = NULL;
    kvw_bucket *b2 = NULL;
    assert_int_equal(kvw_client_open(&c2, &o), 0);
    assert_int_equal(kvw_bucket_open(&b2, c2, ctx->bucket_name, NULL), 0);

    poller p = {.ctx = ctx};
    pthread_t reader, writers[2];
    enum { N = 5000 }; /* per client: 10,000 racing transactions */
    racer r[2] = {{.bucket = ctx->bucket, .n = N}, {.bucket = b2, .n = N}};
    assert_int_equal(pthread_create(&reader, NULL, poll_main, &p), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&writers[i], NULL, racer_main, &r[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(writers[i], NULL);
    __atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
    pthread_join(reader, NULL);
    kvw_bucket_free(b2);
    kvw_client_free(c2);
    print_message("  %d racing transactions from 2 clients (%d + %d OK), %ld nats.c read pairs, %ld torn%s%s\n",
                  2 * N, r[0].ok, r[1].ok, p.reads, p.torn, p.torn ? ": " : "", p.first_torn);
    assert_string_equal(r[0].first_error, "");
    assert_string_equal(r[1].first_error, "");
    assert_int_equal(r[0].ok + r[1].ok, 2 * N);
    assert_true(p.reads > 100);
    assert_int_equal(p.torn, 0);
}

/* The server SIGKILLed while transactions are committed, then restarted on
 * the same store: each one is wholly stored or wholly absent, every one got
 * exactly one callback, and one that reported OK is there. */
static void test_server_kill_all_or_nothing(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.op_timeout_ms = 3000;
    o.max_reconnect = -1;
    o.reconnect_wait_ms = 100;
    open_atomic(ctx, &o, 1);
    enum { N = 600, KEYS = 3 };
    kt_rec *r[N];
    for (int i = 0; i < N; i++) {
        kvw_txn *t = txn_new(ctx);
        for (int k = 0; k < KEYS; k++) {
            char key[32];
            snprintf(key, sizeof key, "t%d.k%d", i, k);
            assert_int_equal(kvw_txn_put(t, key, "v", 1), 0);
        }
        r[i] = kt_rec_new(ctx);
        int rc;
        while ((rc = kvw_txn_commit(t, kt_rec_cb, r[i])) == KVW_EBUSY) kt_sleep_ms(1);
        assert_int_equal(rc, 0);
        kvw_txn_free(t);
        if (i == N / 3) assert_int_equal(ts_server_kill(g_server), 0);
        if (i == N / 2) assert_int_equal(ts_server_start(g_server), 0);
    }
    int counts[32] = {0}, whole = 0, absent = 0;
    kt_nats n;
    for (int i = 0; i < N; i++) {
        assert_int_equal(kt_rec_wait(r[i]), 0);
        if (counts[-r[i]->status]++ == 0 && r[i]->status != KVW_OK)
            print_message("  first %s: %s\n", r[i]->status_name, r[i]->message);
    }
    assert_int_equal(kt_nats_open(&n, ts_server_url(g_server)), 0);
    kvStore *kv = NULL;
    assert_int_equal(js_KeyValue(&kv, n.js, ctx->bucket_name), NATS_OK);
    for (int i = 0; i < N; i++) {
        int present = 0;
        for (int k = 0; k < KEYS; k++) {
            char key[32];
            snprintf(key, sizeof key, "t%d.k%d", i, k);
            kvEntry *e = NULL;
            natsStatus s = kvStore_Get(&e, kv, key);
            assert_true(s == NATS_OK || s == NATS_NOT_FOUND);
            present += s == NATS_OK;
            kvEntry_Destroy(e);
        }
        if (present != 0 && present != KEYS)
            fail_msg("transaction %d: %d of its %d keys stored (%s: %s)", i, present, KEYS, r[i]->status_name,
                     r[i]->message);
        if (r[i]->status == KVW_OK) assert_int_equal(present, KEYS);
        /* A definite failure stored nothing. */
        if (r[i]->status != KVW_OK && !kvw_err_outcome_unknown(r[i]->status)) assert_int_equal(present, 0);
        whole += present == KEYS;
        absent += present == 0;
        assert_int_equal(kt_rec_calls(r[i]), 1);
    }
    kvStore_Destroy(kv);
    kt_nats_close(&n);
    print_message("  %d transactions: OK %d, ETIMEDOUT %d, ENOTCONN %d, ECLOSED %d, other %d; "
                  "stored whole %d, absent %d, partial 0\n",
                  N, counts[0], counts[-KVW_ETIMEDOUT], counts[-KVW_ENOTCONN], counts[-KVW_ECLOSED],
                  N - counts[0] - counts[-KVW_ETIMEDOUT] - counts[-KVW_ENOTCONN] - counts[-KVW_ECLOSED], whole,
                  absent);
    assert_int_equal(kvw_client_close(ctx->client), 0);
}

/* A blocking commit through a kvw_waiter, and a commit refused at close. */
static void test_blocking_commit_and_close(void **state)
{
    kt_ctx *ctx = *state;
    open_atomic(ctx, NULL, 1);
    kvw_waiter *w = NULL;
    assert_int_equal(kvw_waiter_new(&w), 0);
    kvw_txn *t = txn_new(ctx);
    assert_int_equal(kvw_txn_put(t, "w1", "1", 1), 0);
    assert_int_equal(kvw_txn_put(t, "w2", "2", 1), 0);
    assert_int_equal(kvw_txn_commit(t, kvw_waiter_callback, w), 0);
    const kvw_result *res = NULL;
    assert_int_equal(kvw_waiter_wait(w, 10000, &res), 1);
    assert_int_equal(res->status, KVW_OK);
    assert_int_equal(res->op, KVW_OP_TXN);
    assert_int_equal(res->txn_writes, 2);
    kvw_version second = kvw_txn_write_version(res, 1);
    assert_int_equal(nats_entry(ctx, "w2", NULL, 0, NULL), kt_rev(second));
    kvw_waiter_free(w);

    assert_int_equal(kvw_txn_put(t, "after", "1", 1), 0); /* the handle is reusable */
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kvw_txn_commit(t, kt_rec_cb, kt_rec_new(ctx)), KVW_ECLOSED);
    assert_int_equal(kvw_txn_len(t), 1); /* refused: it keeps its writes */
    kvw_txn_free(t);
}

/* ------------------------------------------------------- multi-key reads */

/* A copy of a kvw_get_many outcome. */
typedef struct {
    kt_waiter w;
    int status;
    uint64_t as_of;
    size_t n;
    struct {
        int status;
        char key[64];
        uint64_t version;
        kvw_entry_op op;
        char value[64];
    } e[KVW_GET_MANY_MAX];
} many_rec;

static void many_cb(const kvw_result *r, void *user_data)
{
    many_rec *m = user_data;
    m->status = r->status;
    kvw_version_to_u64(&r->version, &m->as_of);
    m->n = r->entry_count;
    for (size_t i = 0; i < r->entry_count && i < KVW_GET_MANY_MAX; i++) {
        const kvw_result *e = &r->entries[i];
        m->e[i].status = e->status;
        snprintf(m->e[i].key, sizeof m->e[i].key, "%s", e->key);
        m->e[i].version = 0;
        kvw_version_to_u64(&e->version, &m->e[i].version);
        m->e[i].op = e->entry_op;
        snprintf(m->e[i].value, sizeof m->e[i].value, "%.*s", (int)e->value_len, (const char *)e->value);
    }
    kt_waiter_signal(&m->w);
}

static many_rec *get_many(kt_ctx *ctx, kvw_bucket *b, const char *const *keys, size_t n)
{
    many_rec *m = kt_alloc(ctx, sizeof *m);
    kt_waiter_init(&m->w);
    assert_int_equal(kvw_get_many(b, keys, n, many_cb, m), 0);
    assert_int_equal(kt_waiter_wait(&m->w, 1, KT_TIMEOUT_MS), 0);
    return m;
}

static void skip_before_get_many_server(void)
{
    if (g_version < GET_MANY_SERVER) {
        print_message("[  SKIP    ] needs nats-server 2.11 or newer (this is %d.%d.%d)\n", g_version / 10000,
                      g_version / 100 % 100, g_version % 100);
        skip();
    }
}

static void test_get_many_refusals(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "many", NULL);
    const char *keys[] = {"a", "b"};
    if (g_version < GET_MANY_SERVER) {
        assert_int_equal(kvw_get_many(ctx->bucket, keys, 2, kt_rec_cb, kt_rec_new(ctx)), KVW_ENOTSUP);
        assert_non_null(strstr(kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_GET_MANY), "2.11"));
        skip_before_get_many_server();
    }
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_GET_MANY), 1);
    kt_rec *r = kt_rec_new(ctx);
    assert_int_equal(kvw_get_many(NULL, keys, 2, kt_rec_cb, r), KVW_EINVAL);
    assert_int_equal(kvw_get_many(ctx->bucket, NULL, 2, kt_rec_cb, r), KVW_EINVAL);
    assert_int_equal(kvw_get_many(ctx->bucket, keys, 0, kt_rec_cb, r), KVW_EINVAL);
    assert_int_equal(kvw_get_many(ctx->bucket, keys, 2, NULL, r), KVW_EINVAL);
    assert_int_equal(kvw_get_many(ctx->bucket, keys, KVW_GET_MANY_MAX + 1, kt_rec_cb, r), KVW_EINVAL);
    const char *bad[] = {"a", "b c"};
    assert_int_equal(kvw_get_many(ctx->bucket, bad, 2, kt_rec_cb, r), KVW_EBADKEY);
    const char *null_key[] = {"a", NULL};
    assert_int_equal(kvw_get_many(ctx->bucket, null_key, 2, kt_rec_cb, r), KVW_EINVAL);
    assert_int_equal(kt_rec_calls(r), 0);
    /* A handle that reads through the stream leader cannot: multi_last is a direct get. */
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.read_mode = KVW_READ_LEADER;
    kvw_bucket *leader = NULL;
    assert_int_equal(kvw_bucket_open(&leader, ctx->client, ctx->bucket_name, &bo), 0);
    assert_int_equal(kvw_bucket_supports(leader, KVW_FEATURE_GET_MANY), 0);
    assert_int_equal(kvw_get_many(leader, keys, 2, kt_rec_cb, r), KVW_ENOTSUP);
    kvw_bucket_free(leader);
}

/* Every kind of record, a missing key, a key twice, and 1,024 keys; what
 * nats.c reads agrees. */
static void test_get_many_records(void **state)
{
    kt_ctx *ctx = *state;
    skip_before_get_many_server();
    kt_open(ctx, NULL, "many", NULL);
    kt_rec *a = kt_put_s(ctx, ctx->bucket, "a", "va");
    kt_put_s(ctx, ctx->bucket, "d", "x");
    kt_rec *d = kt_delete(ctx, ctx->bucket, "d");
    kt_rec *t = kt_put_s(ctx, ctx->bucket, "t", "x");
    kt_rec *tomb = kt_delete_v(ctx, ctx->bucket, "t", t->version);
    kt_rec *p = kt_purge(ctx, ctx->bucket, "p");
    const char *keys[] = {"a", "d", "t", "p", "none", "a"};
    many_rec *m = get_many(ctx, ctx->bucket, keys, 6);
    assert_int_equal(m->status, KVW_OK);
    assert_int_equal(m->n, 6);
    assert_int_equal(m->as_of, kt_rev(p->version)); /* the bucket's last revision */
    struct { int status; uint64_t version; kvw_entry_op op; const char *value; } want[] = {
        {KVW_OK, kt_rev(a->version), KVW_ENTRY_PUT, "va"},   {KVW_OK, kt_rev(d->version), KVW_ENTRY_DELETE, ""},
        {KVW_OK, kt_rev(tomb->version), KVW_ENTRY_PUT, ""},  {KVW_OK, kt_rev(p->version), KVW_ENTRY_PURGE, ""},
        {KVW_ENOTFOUND, 0, KVW_ENTRY_NONE, ""},              {KVW_OK, kt_rev(a->version), KVW_ENTRY_PUT, "va"},
    };
    for (int i = 0; i < 6; i++) {
        assert_string_equal(m->e[i].key, keys[i]);
        assert_int_equal(m->e[i].status, want[i].status);
        assert_int_equal(m->e[i].version, want[i].version);
        assert_int_equal(m->e[i].op, want[i].op);
        assert_string_equal(m->e[i].value, want[i].value);
    }
    const char *missing[] = {"x", "y"};
    m = get_many(ctx, ctx->bucket, missing, 2);
    assert_int_equal(m->status, KVW_OK);
    assert_int_equal(m->e[0].status, KVW_ENOTFOUND);
    assert_int_equal(m->e[1].status, KVW_ENOTFOUND);

    /* The most keys at once: four pages of 256 records (kvw asks for them one after the other). */
    enum { N = KVW_GET_MANY_MAX };
    static char names[N][16];
    static const char *many_keys[N];
    char big[2048];
    memset(big, 'v', sizeof big);
    kt_rec *last = NULL;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        many_keys[i] = names[i];
        big[0] = (char)('a' + i % 26);
        last = kt_rec_new(ctx);
        int rc;
        while ((rc = kvw_put(ctx->bucket, names[i], big, sizeof big, kt_rec_cb, last)) == KVW_EBUSY) kt_sleep_ms(1);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(kt_rec_wait(last), 0);
    kt_sleep_ms(100);
    m = get_many(ctx, ctx->bucket, many_keys, N);
    assert_int_equal(m->status, KVW_OK);
    assert_int_equal(m->n, N);
    kvStore *kv = NULL;
    assert_int_equal(js_KeyValue(&kv, g_nats.js, ctx->bucket_name), NATS_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(m->e[i].status, KVW_OK);
        assert_int_equal(m->e[i].value[0], 'a' + i % 26);
        kvEntry *e = NULL;
        assert_int_equal(kvStore_Get(&e, kv, names[i]), NATS_OK);
        assert_int_equal(kvEntry_Revision(e), m->e[i].version);
        kvEntry_Destroy(e);
    }
    kvStore_Destroy(kv);
}

/* Read-modify-write across keys: threads move amounts between two
 * accounts, each reading both with kvw_get_many and committing two updates
 * that expect exactly the versions read. Conflicts are retried. The total
 * never changes, in any snapshot, and every committed move is counted. */
typedef struct {
    kt_ctx *ctx;
    int moves, conflicts, torn;
} mover;

static long balance(const char *v) { return strtol(v, NULL, 10); }

static void *mover_main(void *arg)
{
    mover *mv = arg;
    kvw_bucket *b = mv->ctx->bucket;
    const char *keys[] = {"acct.a", "acct.b"};
    many_rec *m = calloc(1, sizeof *m);
    kvw_txn *t = NULL;
    if (!m || kvw_txn_new(&t, b) != 0) return NULL;
    kt_waiter_init(&m->w);
    while (mv->moves < 100) {
        long before = kt_waiter_count(&m->w);
        if (kvw_get_many(b, keys, 2, many_cb, m) != 0 || kt_waiter_wait(&m->w, before + 1, KT_TIMEOUT_MS) != 0 ||
            m->status != KVW_OK)
            break;
        long x = balance(m->e[0].value), y = balance(m->e[1].value);
        if (x + y != 1000) mv->torn++;
        char vx[24], vy[24];
        int nx = snprintf(vx, sizeof vx, "%ld", x - 1), ny = snprintf(vy, sizeof vy, "%ld", y + 1);
        kvw_version ex = kvw_version_from_u64(m->e[0].version), ey = kvw_version_from_u64(m->e[1].version);
        kvw_txn_update(t, "acct.a", vx, (size_t)nx, &ex);
        kvw_txn_update(t, "acct.b", vy, (size_t)ny, &ey);
        kvw_waiter *w = NULL;
        const kvw_result *r = NULL;
        if (kvw_waiter_new(&w) != 0 || kvw_txn_commit(t, kvw_waiter_callback, w) != 0 ||
            kvw_waiter_wait(w, KT_TIMEOUT_MS, &r) != 1) {
            kvw_waiter_free(w);
            break;
        }
        if (r->status == KVW_OK)
            mv->moves++;
        else if (r->status == KVW_ECONFLICT)
            mv->conflicts++;
        else
            mv->torn += 1000; /* any other outcome fails the test */
        kvw_waiter_free(w);
    }
    kvw_txn_free(t);
    kt_waiter_destroy(&m->w);
    free(m);
    return NULL;
}

static void test_read_modify_write_across_keys(void **state)
{
    kt_ctx *ctx = *state;
    skip_before_atomic_server();
    open_atomic(ctx, NULL, 1);
    kt_put_s(ctx, ctx->bucket, "acct.a", "500");
    kt_put_s(ctx, ctx->bucket, "acct.b", "500");
    enum { THREADS = 4 };
    mover mv[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        mv[i] = (mover){.ctx = ctx};
        assert_int_equal(pthread_create(&th[i], NULL, mover_main, &mv[i]), 0);
    }
    int moves = 0, conflicts = 0, torn = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        moves += mv[i].moves;
        conflicts += mv[i].conflicts;
        torn += mv[i].torn;
    }
    kt_rec *a = kt_get(ctx, ctx->bucket, "acct.a"), *b = kt_get(ctx, ctx->bucket, "acct.b");
    print_message("  %d moves committed by %d threads, %d conflicts retried, %d inconsistent snapshots; a=%s b=%s\n",
                  moves, THREADS, conflicts, torn, (char *)a->value, (char *)b->value);
    assert_int_equal(moves, THREADS * 100);
    assert_int_equal(torn, 0);
    assert_int_equal(balance((char *)a->value), 500 - moves);
    assert_int_equal(balance((char *)b->value), 500 + moves);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_without_atomic_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_transactions_one_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_half_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_commit_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_kill_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_many_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_many_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_modify_write_across_keys, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("txn", tests, group_setup, group_teardown);
}
