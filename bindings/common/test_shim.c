/*
 * test_shim.c — the binding shim against a real nats-server, without SWIG.
 * Registered with ctest as "shim" (tests/CMakeLists.txt): it starts a private
 * `nats-server -js` through tests/support/natsserver.c ($NATS_SERVER_BIN, else
 * PATH), or uses KVW_TEST_SERVERS=nats://h:p when set.
 * Exit status 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "kvw_binding.h"
#include "support/natsserver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
            failures++;                                                                 \
        }                                                                               \
    } while (0)
#define CHECK_RC(expr, want)                                                            \
    do {                                                                                \
        long long got_ = (long long)(expr), want_ = (long long)(want);                  \
        if (got_ != want_) {                                                            \
            fprintf(stderr, "%s:%d: %s = %lld (%s), want %lld (%s)\n", __FILE__,        \
                    __LINE__, #expr, got_, kvw_err_name((int)got_), want_,              \
                    kvw_err_name((int)want_));                                          \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ helpers */

/* Waits (this thread is the "language" thread) for the one record of op_id. */
static kvwb_completion *await(kvwb_client *c, int64_t op_id)
{
    int i;
    for (i = 0; i < 100; i++) { /* 10 s */
        kvwb_completion *rec;
        int n = kvwb_wait(c, 100);
        if (n < 0 && n != KVW_ECLOSED) {
            fprintf(stderr, "kvwb_wait: %s\n", kvw_err_name(n));
            return NULL;
        }
        rec = kvwb_next(c);
        if (rec) {
            CHECK_RC(rec->op_id, op_id);
            CHECK(kvwb_next(c) == NULL); /* one op at a time here */
            return rec;
        }
        if (n == KVW_ECLOSED)
            return NULL;
    }
    fprintf(stderr, "no completion for op %lld\n", (long long)op_id);
    return NULL;
}

/* A language's dispatcher: wait, pop, hand each record to its op. */
static int seen[20], seen_total, seen_bad;

static void note(kvwb_completion *r)
{
    if (r->op_id >= 1000 && r->op_id < 1020 &&
        (r->status == KVW_OK || r->status == KVW_ECLOSED))
        seen[r->op_id - 1000]++;
    else
        seen_bad++;
    seen_total++;
    kvwb_completion_free(r);
}

static void *dispatcher(void *arg)
{
    kvwb_client *c = (kvwb_client *)arg;
    kvwb_completion *r;
    int n;
    while ((n = kvwb_wait(c, -1)) >= 0) {
        while ((r = kvwb_next(c)) != NULL)
            note(r);
    }
    return (void *)(intptr_t)n;
}

/* -------------------------------------------------------------- tests */

static void test_versions(void)
{
    char *t = kvwb_version_from_revision(42);
    CHECK(t && strcmp(t, "42") == 0);
    free(t);
    t = kvwb_version_from_revision(0);
    CHECK(t && strcmp(t, "unknown") == 0);
    free(t);
    CHECK_RC(kvwb_version_revision("42"), 42);
    CHECK_RC(kvwb_version_revision("unknown"), 0);
    CHECK_RC(kvwb_version_revision("no such"), KVW_EBADVERSION);
    CHECK_RC(kvwb_version_revision(NULL), KVW_EINVAL);
    CHECK_RC(kvwb_version_check("7"), 0);
    CHECK_RC(kvwb_version_is_unknown("unknown"), 1);
    CHECK_RC(kvwb_version_is_unknown("7"), 0);
    CHECK_RC(kvwb_version_equal("7", "7"), 1);
    CHECK_RC(kvwb_version_equal("7", "8"), 0);
    CHECK_RC(kvwb_version_equal("7", "?"), KVW_EBADVERSION);
}

static void test_options(void)
{
    kvwb_client_options *co = kvwb_client_options_new();
    kvwb_bucket_options *bo = kvwb_bucket_options_new();
    CHECK(co && bo);
    CHECK_RC(kvwb_client_options_set_name(co, "x"), 0);
    CHECK_RC(kvwb_client_options_set_name(co, NULL), 0);
    CHECK_RC(kvwb_client_options_set_max_inflight(co, -1), KVW_EINVAL);
    CHECK_RC(kvwb_client_options_set_max_inflight(co, 4294967296LL), KVW_EINVAL);
    CHECK_RC(kvwb_bucket_options_set_storage(bo, 7), KVW_EINVAL);
    CHECK_RC(kvwb_bucket_options_set_max_value_size(bo, 1LL << 31), KVW_EINVAL);
    CHECK_RC(kvwb_client_options_set_servers(NULL, "x"), KVW_EINVAL);
    kvwb_client_options_free(co);
    kvwb_bucket_options_free(bo);
}

static void test_ops(const char *url)
{
    static const char val[] = {'a', '\0', 'b'};
    kvwb_client_options *co = kvwb_client_options_new();
    kvwb_bucket_options *bo = kvwb_bucket_options_new();
    kvwb_client *c = kvwb_client_new();
    kvwb_bucket *b = kvwb_bucket_new();
    kvwb_completion *r;
    char v1[KVW_VERSION_STRLEN], v2[KVW_VERSION_STRLEN];
    int64_t id = 100, i;
    pthread_t th;
    void *th_rc;

    kvwb_client_options_set_servers(co, url);
    kvwb_client_options_set_name(co, "kvw-binding-test");
    kvwb_bucket_options_set_create_if_missing(bo, 1);
    kvwb_bucket_options_set_storage(bo, KVW_STORAGE_MEMORY);
    kvwb_bucket_options_set_history(bo, 5);

    CHECK_RC(kvwb_wait(c, 0), KVW_EINVAL); /* not open yet */
    CHECK_RC(kvwb_client_open(c, co), 0);
    CHECK_RC(kvwb_client_open(c, co), KVW_EINVAL); /* once */
    kvwb_client_options_free(co);                   /* copied at open */
    CHECK(kvwb_fd(c) >= 0);
    CHECK(kvwb_wake_fd(c) >= 0);
    CHECK_RC(kvwb_bucket_open(b, c, "shim_test", bo), 0);
    kvwb_bucket_options_free(bo);
    CHECK(strcmp(kvwb_bucket_name(b), "shim_test") == 0);
    CHECK(kvwb_bucket_max_value_size(b) > 0);
    CHECK_RC(kvwb_wait(c, 0), 0);

    /* put with NUL bytes, then get them back */
    CHECK_RC(kvwb_put(b, "k", val, sizeof val, ++id), 0);
    r = await(c, id);
    CHECK(r != NULL);
    if (!r)
        goto out;
    CHECK_RC(r->status, KVW_OK);
    CHECK_RC(r->op, KVW_OP_PUT);
    CHECK(r->revision > 0);
    CHECK(strcmp(r->key, "k") == 0);
    CHECK_RC(kvwb_version_revision(r->version), r->revision);
    snprintf(v1, sizeof v1, "%s", r->version);
    kvwb_completion_free(r);

    CHECK_RC(kvwb_get(b, "k", ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->op == KVW_OP_GET);
    CHECK(r && r->value_len == 3 && memcmp(r->value, val, 3) == 0);
    CHECK(r && r->entry_op == KVW_ENTRY_PUT && strcmp(r->version, v1) == 0);
    kvwb_completion_free(r);

    /* CAS: a wrong version is refused, the current one accepted */
    {
        char *wrong = kvwb_version_from_revision(kvwb_version_revision(v1) + 1000);
        CHECK_RC(kvwb_update(b, "k", "x", 1, wrong, ++id), 0);
        free(wrong);
    }
    r = await(c, id);
    CHECK(r && r->status == KVW_ECONFLICT && r->server_error == 10071);
    kvwb_completion_free(r);
    CHECK_RC(kvwb_update(b, "k", "y", 1, v1, ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->op == KVW_OP_UPDATE);
    CHECK(r && r->revision > kvwb_version_revision(v1));
    kvwb_completion_free(r);

    CHECK_RC(kvwb_create(b, "k", "z", 1, ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_EEXIST);
    kvwb_completion_free(r);

    /* empty value, NULL data with len 0 */
    CHECK_RC(kvwb_create(b, "fresh", NULL, 0, ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->op == KVW_OP_CREATE);
    kvwb_completion_free(r);

    /* delete: get says not found, get_entry shows the marker */
    CHECK_RC(kvwb_delete(b, "k", ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->op == KVW_OP_DELETE && r->revision > 0);
    kvwb_completion_free(r);
    CHECK_RC(kvwb_get(b, "k", ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_ENOTFOUND && r->value_len == 0 && r->value[0] == '\0');
    kvwb_completion_free(r);
    CHECK_RC(kvwb_get_entry(b, "k", ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->entry_op == KVW_ENTRY_DELETE);
    if (r)
        snprintf(v2, sizeof v2, "%s", r->version);
    kvwb_completion_free(r);

    /* delete_with_version over the marker, then purge */
    CHECK_RC(kvwb_delete_with_version(b, "k", v2, ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->op == KVW_OP_DELETE_WITH_VERSION);
    kvwb_completion_free(r);
    CHECK_RC(kvwb_purge(b, "k", ++id), 0);
    r = await(c, id);
    CHECK(r && r->status == KVW_OK && r->op == KVW_OP_PURGE);
    kvwb_completion_free(r);

    /* refused at submit: no record */
    CHECK_RC(kvwb_put(b, "bad..key", "v", 1, ++id), KVW_EBADKEY);
    CHECK_RC(kvwb_update(b, "k", "v", 1, "not a version", ++id), KVW_EBADVERSION);
    CHECK_RC(kvwb_put(NULL, "k", "v", 1, ++id), KVW_EINVAL);
    CHECK_RC(kvwb_inflight(c), 0);
    CHECK_RC(kvwb_wait(c, 0), 0);

    /* blocking calls: outcomes straight to the caller, none in the queue */
    {
        kvwb_call *call = kvwb_call_new();
        char ver[KVW_VERSION_STRLEN];
        CHECK(call != NULL);
        CHECK_RC(kvwb_call_wait(call, 0), KVW_EINVAL); /* nothing started */
        CHECK(kvwb_call_result(call) == NULL);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_PUT, "blk", "one", 3, NULL, 0), 0);
        CHECK_RC(kvwb_call_wait(call, 10000), 1);
        r = kvwb_call_result(call);
        CHECK(r && r->status == KVW_OK && r->revision > 0 && strcmp(r->key, "blk") == 0);
        snprintf(ver, sizeof ver, "%s", r ? r->version : "unknown");
        kvwb_completion_free(r);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_CREATE, "blk", "x", 1, NULL, 0), 0);
        CHECK_RC(kvwb_call_wait(call, -1), 1);
        r = kvwb_call_result(call);
        CHECK(r && r->status == KVW_EEXIST && strcmp(r->version, ver) == 0);
        kvwb_completion_free(r);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_UPDATE, "blk", "two", 3, ver, 0), 0);
        CHECK_RC(kvwb_call_wait(call, -1), 1);
        kvwb_completion_free(kvwb_call_result(call));
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_UPDATE, "blk", "stale", 5, ver, 0), 0);
        CHECK_RC(kvwb_call_wait(call, -1), 1);
        r = kvwb_call_result(call);
        CHECK(r && r->status == KVW_ECONFLICT);
        kvwb_completion_free(r);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_GET, "blk", NULL, 0, ver, 0), 0); /* at least ver */
        CHECK_RC(kvwb_call_wait(call, -1), 1);
        r = kvwb_call_result(call);
        CHECK(r && r->status == KVW_OK && r->value_len == 3 && memcmp(r->value, "two", 3) == 0);
        kvwb_completion_free(r);
        /* refusals at start, as the kvwb_* submits */
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_UPDATE, "blk", "v", 1, "not a version", 0), KVW_EBADVERSION);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_GET, "blk", NULL, 0, "unknown", 0), KVW_EBADVERSION);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_PUT, "bad..key", "v", 1, NULL, 0), KVW_EBADKEY);
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_GET, "blk", NULL, 0, NULL, 5000), KVW_EINVAL);
        CHECK_RC(kvwb_call_start(call, NULL, KVW_OP_PUT, "blk", "v", 1, NULL, 0), KVW_EINVAL);
        CHECK_RC(kvwb_call_start(call, b, 99, "blk", "v", 1, NULL, 0), KVW_EINVAL);
        CHECK_RC(kvwb_queued(c), 0);
        CHECK_RC(kvwb_inflight(c), 0);
        /* freed with an op pending: freed when it ends (ASan, valgrind) */
        CHECK_RC(kvwb_call_start(call, b, KVW_OP_PUT, "blk", "three", 5, NULL, 0), 0);
        kvwb_call_free(call);
        kvwb_call_free(NULL);
    }

    /* close from this thread while a dispatcher thread waits forever, with
     * ops pending: every op gets exactly one record, the waiter wakes up */
    CHECK(pthread_create(&th, NULL, dispatcher, c) == 0);
    sleep_ms(50);
    for (i = 0; i < 20; i++)
        CHECK_RC(kvwb_put(b, "many", "v", 1, 1000 + i), 0);
    CHECK_RC(kvwb_client_close(c), 0);
    CHECK_RC(kvwb_client_close(c), 0); /* idempotent */
    CHECK(pthread_join(th, &th_rc) == 0);
    CHECK_RC((intptr_t)th_rc, KVW_ECLOSED);
    while ((r = kvwb_next(c)) != NULL) /* normally none left */
        note(r);
    CHECK_RC(seen_total, 20);
    CHECK_RC(seen_bad, 0);
    for (i = 0; i < 20; i++)
        CHECK_RC(seen[i], 1);
    CHECK_RC(kvwb_inflight(c), 0);
    CHECK_RC(kvwb_wait(c, 0), KVW_ECLOSED);
    CHECK_RC(kvwb_wait(c, 1000), KVW_ECLOSED); /* no wait once closed */
    CHECK_RC(kvwb_put(b, "k", "v", 1, ++id), KVW_ECLOSED);

out:
    /* any order: the bucket keeps the shared state alive */
    kvwb_client_free(c);
    kvwb_bucket_free(b);
}

/* Transactions through the shim: the record of a commit, a refused one, a
 * blocking commit, and handles freed in any order. */
static void test_txn(const char *url)
{
    kvwb_client_options *co = kvwb_client_options_new();
    kvwb_bucket_options *bo = kvwb_bucket_options_new();
    kvwb_client *c = kvwb_client_new();
    kvwb_bucket *b = kvwb_bucket_new();
    kvwb_txn *t = kvwb_txn_new();
    kvwb_completion *r;
    char first[KVW_VERSION_STRLEN];
    int opened;

    kvwb_client_options_set_servers(co, url);
    kvwb_bucket_options_set_create_if_missing(bo, 1);
    CHECK_RC(kvwb_bucket_options_set_allow_atomic(bo, 1), 0);
    CHECK_RC(kvwb_bucket_options_set_allow_atomic(NULL, 1), KVW_EINVAL);
    CHECK_RC(kvwb_client_open(c, co), 0);
    kvwb_client_options_free(co);
    CHECK_RC(kvwb_txn_len(t), KVW_EINVAL); /* not open */
    CHECK_RC(kvwb_txn_put(t, "k", "v", 1), KVW_EINVAL);
    CHECK_RC(kvwb_txn_commit(t, 1), KVW_EINVAL);
    CHECK_RC(kvwb_txn_open(t, NULL), KVW_EINVAL);
    if (kvwb_client_server_version(c) < 21200) {
        CHECK_RC(kvwb_bucket_open(b, c, "shim_txn", bo), KVW_ENOTSUP);
        CHECK_RC(kvwb_bucket_open(b, c, "shim_plain", NULL), KVW_ENOBUCKET);
        kvwb_bucket_options_set_allow_atomic(bo, 0);
        CHECK_RC(kvwb_bucket_open(b, c, "shim_plain", bo), 0);
        CHECK_RC(kvwb_txn_open(t, b), KVW_ENOTSUP);
        printf("shim: transactions refused (nats-server older than 2.12)\n");
        goto out;
    }
    CHECK_RC(kvwb_bucket_open(b, c, "shim_txn", bo), 0);
    CHECK_RC(kvwb_txn_open(t, b), 0);
    CHECK_RC(kvwb_txn_open(t, b), KVW_EINVAL); /* once */
    CHECK_RC(kvwb_txn_put(t, "a", "1", 1), 0);
    CHECK_RC(kvwb_txn_create(t, "b", "2", 1), 0);
    CHECK_RC(kvwb_txn_update(t, "c", "3", 1, "x7"), KVW_EBADVERSION);
    CHECK_RC(kvwb_txn_update(t, "c", "3", 1, NULL), KVW_EINVAL);
    CHECK_RC(kvwb_txn_delete(t, "d"), 0);
    CHECK_RC(kvwb_txn_len(t), 3);
    CHECK_RC(kvwb_txn_commit(t, 500), 0);
    CHECK_RC(kvwb_txn_len(t), 0);
    r = await(c, 500);
    CHECK(r != NULL);
    if (!r)
        goto out;
    CHECK_RC(r->status, KVW_OK);
    CHECK_RC(r->op, KVW_OP_TXN);
    CHECK_RC(r->txn_writes, 3);
    CHECK(r->revision > 0);
    snprintf(first, sizeof first, "%s", r->version);
    kvwb_completion_free(r);

    /* stale: names the key, nothing stored */
    CHECK_RC(kvwb_txn_put(t, "e", "5", 1), 0);
    CHECK_RC(kvwb_txn_delete_with_version(t, "a", "999"), 0);
    CHECK_RC(kvwb_txn_commit(t, 501), 0);
    r = await(c, 501);
    CHECK(r != NULL);
    if (r) {
        CHECK_RC(r->status, KVW_ECONFLICT);
        CHECK(strcmp(r->key, "a") == 0);
        CHECK_RC(r->revision, kvwb_version_revision(first));
        CHECK_RC(r->txn_writes, 0);
        kvwb_completion_free(r);
    }

    /* blocking */
    {
        kvwb_call *call = kvwb_call_new();
        CHECK_RC(kvwb_call_commit(call, t), KVW_EINVAL); /* empty */
        CHECK_RC(kvwb_txn_update(t, "a", "6", 1, first), 0);
        CHECK_RC(kvwb_call_commit(NULL, t), KVW_EINVAL);
        CHECK_RC(kvwb_call_commit(call, t), 0);
        CHECK_RC(kvwb_call_wait(call, 10000), 1);
        r = kvwb_call_result(call);
        CHECK(r != NULL);
        if (r) {
            CHECK_RC(r->status, KVW_OK);
            CHECK_RC(r->txn_writes, 1);
            kvwb_completion_free(r);
        }
        kvwb_call_free(call);
    }

out:
    /* any order: the txn holds the client's shared state too */
    opened = kvwb_txn_len(t) >= 0;
    kvwb_client_free(c);
    kvwb_bucket_free(b);
    CHECK_RC(kvwb_txn_put(t, "late", "v", 1), opened ? 0 : KVW_EINVAL);
    kvwb_txn_free(t);
    kvwb_txn_free(NULL);
    kvwb_bucket_options_free(bo);
}

/* A multi-key read through the shim: entries, a missing key, the keys
 * string checked against the count, the blocking form. */
static void test_get_many(const char *url)
{
    kvwb_client_options *co = kvwb_client_options_new();
    kvwb_bucket_options *bo = kvwb_bucket_options_new();
    kvwb_client *c = kvwb_client_new();
    kvwb_bucket *b = kvwb_bucket_new();
    kvwb_completion *r;
    kvwb_call *call = kvwb_call_new();

    kvwb_client_options_set_servers(co, url);
    kvwb_bucket_options_set_create_if_missing(bo, 1);
    CHECK_RC(kvwb_client_open(c, co), 0);
    CHECK_RC(kvwb_bucket_open(b, c, "shim_many", bo), 0);
    kvwb_client_options_free(co);
    kvwb_bucket_options_free(bo);
    if (kvwb_client_server_version(c) < 21100) {
        CHECK_RC(kvwb_get_many(b, "a\n", 1, 1), KVW_ENOTSUP);
        printf("shim: multi-key reads refused (nats-server older than 2.11)\n");
        goto out;
    }
    CHECK_RC(kvwb_put(b, "a", "va", 2, 600), 0);
    r = await(c, 600);
    CHECK(r != NULL);
    kvwb_completion_free(r);
    CHECK_RC(kvwb_get_many(b, "a\nb\n", 1, 601), KVW_EBADKEY); /* two keys, count 1 */
    CHECK_RC(kvwb_get_many(b, "a", 1, 601), KVW_EBADKEY);        /* no final newline */
    CHECK_RC(kvwb_get_many(b, "a\n", 0, 601), KVW_EINVAL);
    CHECK_RC(kvwb_get_many(b, NULL, 1, 601), KVW_EINVAL);
    CHECK_RC(kvwb_get_many(b, "a\nb c\n", 2, 601), KVW_EBADKEY);
    CHECK_RC(kvwb_get_many(b, "a\nmissing\n", 2, 602), 0);
    r = await(c, 602);
    CHECK(r != NULL);
    if (r) {
        const kvwb_completion *e0 = kvwb_completion_entry(r, 0), *e1 = kvwb_completion_entry(r, 1);
        CHECK_RC(r->status, KVW_OK);
        CHECK_RC(r->op, KVW_OP_GET_MANY);
        CHECK_RC(r->entry_count, 2);
        CHECK(r->revision > 0);
        CHECK(e0 && strcmp(e0->key, "a") == 0 && e0->status == KVW_OK && strcmp(e0->value, "va") == 0);
        CHECK(e1 && strcmp(e1->key, "missing") == 0 && e1->status == KVW_ENOTFOUND);
        CHECK(kvwb_completion_entry(r, 2) == NULL);
        CHECK(kvwb_completion_entry(r, -1) == NULL);
        kvwb_completion_free(r);
    }
    CHECK_RC(kvwb_call_get_many(call, b, "a\n", 1), 0);
    CHECK_RC(kvwb_call_wait(call, 10000), 1);
    r = kvwb_call_result(call);
    CHECK(r != NULL && r->entry_count == 1 && strcmp(kvwb_completion_entry(r, 0)->value, "va") == 0);
    kvwb_completion_free(r);
out:
    kvwb_call_free(call);
    kvwb_bucket_free(b);
    kvwb_client_free(c);
}

int main(void)
{
    const char *url = getenv("KVW_TEST_SERVERS");
    ts_server *server = NULL;
    test_versions();
    test_options();
    if (!url || !*url) {
        server = ts_server_spawn(NULL);
        if (!server) {
            fprintf(stderr, "could not start nats-server\n");
            return 2;
        }
        url = ts_server_url(server);
    }
    test_ops(url);
    test_txn(url);
    test_get_many(url);
    ts_server_free(server);
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
