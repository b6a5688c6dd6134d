/*
 * Shared helpers for the kvw cmocka suites.
 *
 * Callbacks run on other threads, and cmocka asserts must run on the test
 * thread, so callbacks only *record* (kt_rec_cb, kt_counter) and the test
 * thread waits for them with a bounded condition wait and asserts after.
 *
 * Records are owned by a kt_ctx (created in a per-test setup, freed in its
 * teardown after the client is freed), so a failing assert that longjmps
 * out of a test never leaves a callback writing into a dead stack frame.
 */
#ifndef KVW_TESTS_KVWTEST_H
#define KVW_TESTS_KVWTEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <kvw/kvw.h>

#include "natsserver.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Upper bound for every wait in the suites. */
#define KT_TIMEOUT_MS 10000

/* ------------------------------------------------------------- waiter */

/** Counts events (mutex + condvar); waits are bounded. */
typedef struct kt_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long count;
} kt_waiter;

void kt_waiter_init(kt_waiter *w);
void kt_waiter_destroy(kt_waiter *w);
/** count += 1 and wake waiters. Callable from any thread. */
void kt_waiter_signal(kt_waiter *w);
long kt_waiter_count(kt_waiter *w);
/** Waits until count >= n. 0 when reached, -1 after timeout_ms. */
int kt_waiter_wait(kt_waiter *w, long n, int timeout_ms);

int64_t kt_now_ms(void);
void kt_sleep_ms(int ms);

/* ------------------------------------------------------------- records */

/** A copy of the (borrowed) kvw_result of one callback. */
typedef struct kt_rec {
    kt_waiter w;               /* w.count == number of callback runs */
    /* copied from the last callback run (under w.mu): */
    int status;
    const char *status_name;
    kvw_op op;
    kvw_version version;
    int server_error;
    kvw_entry_op entry_op;
    int64_t ttl_ms;            /* reads: the record's TTL */
    size_t txn_writes;         /* a committed transaction's writes */
    unsigned char *value;      /* malloc'd copy, NUL-terminated for convenience */
    size_t value_len;
    char *key;                 /* copy of result->key (NULL if it was NULL) */
    char *message;             /* copy of result->message (NULL if it was NULL) */
    int value_was_null;        /* result->value was NULL */
    pthread_t thread;          /* thread the callback ran on */
    int inflight_in_cb;        /* kvw_client_inflight() seen inside, if client set */
    kvw_client *client;        /* optional: set to sample kvw_client_inflight */
    /* optional hook run inside the callback after recording (on the callback thread) */
    void (*hook)(struct kt_rec *rec, const kvw_result *result);
    void *hook_data;
} kt_rec;

/** Callback for kvw_* submit functions: user_data must be a kt_rec*. */
void kt_rec_cb(const kvw_result *result, void *user_data);
/** Waits for the rec's first callback; 0 or -1 on timeout. */
int kt_rec_wait(kt_rec *r);
int kt_rec_calls(kt_rec *r);

/* ------------------------------------------------------------- context */

typedef struct kt_ctx {
    kvw_client *client;
    kvw_bucket *bucket;
    char bucket_name[64];
    kt_rec **recs;
    size_t nrecs, caprecs;
    void **allocs;
    size_t nallocs, capallocs;
    ts_server *server;         /* the suite's server (borrowed) */
    void *extra;               /* suite-specific */
} kt_ctx;

kt_ctx *kt_ctx_new(ts_server *server);
/** Frees the bucket and client (THREAD mode: waits for callbacks), then the records. */
void kt_ctx_free(kt_ctx *ctx);
/** A new record owned by ctx. */
kt_rec *kt_rec_new(kt_ctx *ctx);
/** calloc owned by ctx (freed in kt_ctx_free after the client). */
void *kt_alloc(kt_ctx *ctx, size_t size);

/** Fills opts with defaults + the suite server's URL and test-friendly timeouts. */
void kt_client_options(kt_ctx *ctx, kvw_client_options *opts);
/** Writes a unique bucket name "<prefix>_<n>" into out. */
void kt_unique_name(char *out, size_t size, const char *prefix);

/*
 * Test-thread helpers (use cmocka asserts):
 */
/** Opens ctx->client with opts (NULL: kt_client_options) and a fresh bucket
 *  "<prefix>_<n>" with bopts (NULL: create_if_missing = 1, history 1). */
void kt_open(kt_ctx *ctx, const kvw_client_options *opts, const char *prefix,
             const kvw_bucket_options *bopts);

/* Submit + wait; assert the submit returned 0 and the callback ran once. */
kt_rec *kt_put(kt_ctx *ctx, kvw_bucket *b, const char *key, const void *v, size_t n);
kt_rec *kt_put_s(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v);
kt_rec *kt_create_s(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v);
kt_rec *kt_update_s(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v,
                    kvw_version expected);
kt_rec *kt_delete(kt_ctx *ctx, kvw_bucket *b, const char *key);
kt_rec *kt_delete_v(kt_ctx *ctx, kvw_bucket *b, const char *key, kvw_version expected);
kt_rec *kt_purge(kt_ctx *ctx, kvw_bucket *b, const char *key);
kt_rec *kt_get(kt_ctx *ctx, kvw_bucket *b, const char *key);
kt_rec *kt_get_entry(kt_ctx *ctx, kvw_bucket *b, const char *key);

/** Asserts rec->status == want, printing names and message on mismatch. */
#define kt_assert_status(rec, want) kt_assert_status_(rec, want, __FILE__, __LINE__)
void kt_assert_status_(const kt_rec *rec, int want, const char *file, int line);

/** Applies $KVW_TEST_FILTER (a cmocka test-name pattern, e.g. "test_poll*") if set. */
void kt_filter_from_env(void);

/** The u64 revision of a token (asserts it is a NATS token). */
uint64_t kt_rev(kvw_version v);

#ifdef __cplusplus
}
#endif

#endif
