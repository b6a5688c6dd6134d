#define _GNU_SOURCE
#include "kvwtest.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* ------------------------------------------------------------- waiter */

int64_t kt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void kt_waiter_init(kt_waiter *w)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->count = 0;
}

void kt_waiter_destroy(kt_waiter *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

void kt_waiter_signal(kt_waiter *w)
{
    pthread_mutex_lock(&w->mu);
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

long kt_waiter_count(kt_waiter *w)
{
    pthread_mutex_lock(&w->mu);
    long c = w->count;
    pthread_mutex_unlock(&w->mu);
    return c;
}

int kt_waiter_wait(kt_waiter *w, long n, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    while (w->count < n) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT) {
            rc = w->count >= n ? 0 : -1;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ------------------------------------------------------------- records */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void kt_rec_cb(const kvw_result *result, void *user_data)
{
    kt_rec *r = user_data;
    pthread_mutex_lock(&r->w.mu);
    r->status = result->status;
    r->status_name = kvw_err_name(result->status);
    r->op = result->op;
    r->version = result->version;
    r->server_error = result->server_error;
    r->entry_op = result->entry_op;
    r->ttl_ms = result->ttl_ms;
    r->txn_writes = result->txn_writes;
    free(r->value);
    r->value_was_null = result->value == NULL;
    r->value_len = result->value ? result->value_len : 0;
    r->value = malloc(r->value_len + 1);
    if (r->value) {
        if (r->value_len)
            memcpy(r->value, result->value, r->value_len);
        r->value[r->value_len] = '\0';
    }
    free(r->key);
    r->key = dup_or_null(result->key);
    free(r->message);
    r->message = dup_or_null(result->message);
    r->thread = pthread_self();
    if (r->client)
        r->inflight_in_cb = kvw_client_inflight(r->client);
    pthread_mutex_unlock(&r->w.mu);
    if (r->hook)
        r->hook(r, result);
    kt_waiter_signal(&r->w);
}

int kt_rec_wait(kt_rec *r) { return kt_waiter_wait(&r->w, 1, KT_TIMEOUT_MS); }

int kt_rec_calls(kt_rec *r) { return (int)kt_waiter_count(&r->w); }

static void rec_free(kt_rec *r)
{
    if (!r)
        return;
    free(r->value);
    free(r->key);
    free(r->message);
    kt_waiter_destroy(&r->w);
    free(r);
}

/* ------------------------------------------------------------- context */

kt_ctx *kt_ctx_new(ts_server *server)
{
    kt_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx)
        ctx->server = server;
    return ctx;
}

void kt_ctx_free(kt_ctx *ctx)
{
    if (!ctx)
        return;
    kvw_bucket_free(ctx->bucket);
    kvw_client_free(ctx->client);
    for (size_t i = 0; i < ctx->nrecs; i++)
        rec_free(ctx->recs[i]);
    free(ctx->recs);
    for (size_t i = 0; i < ctx->nallocs; i++)
        free(ctx->allocs[i]);
    free(ctx->allocs);
    free(ctx);
}

static void grow(void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void **na = realloc(*arr, nc * sizeof *na);
        assert_non_null(na);
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
}

kt_rec *kt_rec_new(kt_ctx *ctx)
{
    kt_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    kt_waiter_init(&r->w);
    grow((void ***)&ctx->recs, &ctx->nrecs, &ctx->caprecs, r);
    return r;
}

void *kt_alloc(kt_ctx *ctx, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    assert_non_null(p);
    grow(&ctx->allocs, &ctx->nallocs, &ctx->capallocs, p);
    return p;
}

void kt_client_options(kt_ctx *ctx, kvw_client_options *opts)
{
    kvw_client_options_init(opts);
    opts->servers = ctx->server ? ts_server_url(ctx->server) : NULL;
    opts->name = "kvw-tests";
    opts->connect_timeout_ms = 2000;
    opts->op_timeout_ms = 5000;
    opts->reconnect_wait_ms = 100;
}

void kt_unique_name(char *out, size_t size, const char *prefix)
{
    static int counter;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    int n = ++counter;
    pthread_mutex_unlock(&mu);
    snprintf(out, size, "%s_%d", prefix, n);
}

void kt_open(kt_ctx *ctx, const kvw_client_options *opts, const char *prefix,
             const kvw_bucket_options *bopts)
{
    kvw_client_options o;
    if (!opts) {
        kt_client_options(ctx, &o);
        opts = &o;
    }
    int rc = kvw_client_open(&ctx->client, opts);
    if (rc != 0)
        print_error("kvw_client_open: %s (%s)\n", kvw_err_name(rc), kvw_strerror(rc));
    assert_int_equal(rc, KVW_OK);
    assert_non_null(ctx->client);
    kvw_bucket_options bo;
    if (!bopts) {
        kvw_bucket_options_init(&bo);
        bo.create_if_missing = 1;
        /* KVW_TEST_READ_MODE=leader|direct runs a suite's reads that way. */
        const char *mode = getenv("KVW_TEST_READ_MODE");
        if (mode && strcmp(mode, "leader") == 0)
            bo.read_mode = KVW_READ_LEADER;
        else if (mode && strcmp(mode, "direct") == 0)
            bo.read_mode = KVW_READ_DIRECT;
        bopts = &bo;
    }
    kt_unique_name(ctx->bucket_name, sizeof ctx->bucket_name, prefix ? prefix : "b");
    rc = kvw_bucket_open(&ctx->bucket, ctx->client, ctx->bucket_name, bopts);
    if (rc != 0)
        print_error("kvw_bucket_open(%s): %s (%s)\n", ctx->bucket_name, kvw_err_name(rc),
                    kvw_strerror(rc));
    assert_int_equal(rc, KVW_OK);
    assert_non_null(ctx->bucket);
}

static kt_rec *finish(kt_rec *r, int rc, const char *what, const char *key)
{
    if (rc != 0)
        print_error("%s(%s) refused at submit: %s\n", what, key ? key : "(null)", kvw_err_name(rc));
    assert_int_equal(rc, KVW_OK);
    if (kt_rec_wait(r) != 0) {
        print_error("%s(%s): no callback within %d ms\n", what, key ? key : "(null)", KT_TIMEOUT_MS);
        fail();
    }
    return r;
}

kt_rec *kt_put(kt_ctx *ctx, kvw_bucket *b, const char *key, const void *v, size_t n)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_put(b, key, v, n, kt_rec_cb, r), "kvw_put", key);
}

kt_rec *kt_put_s(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v)
{
    return kt_put(ctx, b, key, v, strlen(v));
}

kt_rec *kt_create_s(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_create(b, key, v, strlen(v), kt_rec_cb, r), "kvw_create", key);
}

kt_rec *kt_update_s(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v,
                    kvw_version expected)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_update(b, key, v, strlen(v), &expected, kt_rec_cb, r), "kvw_update",
                  key);
}

kt_rec *kt_delete(kt_ctx *ctx, kvw_bucket *b, const char *key)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_delete(b, key, kt_rec_cb, r), "kvw_delete", key);
}

kt_rec *kt_delete_v(kt_ctx *ctx, kvw_bucket *b, const char *key, kvw_version expected)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_delete_with_version(b, key, &expected, kt_rec_cb, r),
                  "kvw_delete_with_version", key);
}

kt_rec *kt_purge(kt_ctx *ctx, kvw_bucket *b, const char *key)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_purge(b, key, kt_rec_cb, r), "kvw_purge", key);
}

kt_rec *kt_get(kt_ctx *ctx, kvw_bucket *b, const char *key)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_get(b, key, kt_rec_cb, r), "kvw_get", key);
}

kt_rec *kt_get_entry(kt_ctx *ctx, kvw_bucket *b, const char *key)
{
    kt_rec *r = kt_rec_new(ctx);
    return finish(r, kvw_get_entry(b, key, kt_rec_cb, r), "kvw_get_entry", key);
}

void kt_assert_status_(const kt_rec *rec, int want, const char *file, int line)
{
    if (rec->status != want) {
        print_error("%s:%d: status %s (%d), want %s (%d); op %s key %s; message: %s; "
                    "server_error %d\n",
                    file, line, kvw_err_name(rec->status), rec->status, kvw_err_name(want), want,
                    kvw_op_name(rec->op), rec->key ? rec->key : "(null)",
                    rec->message ? rec->message : "(null)", rec->server_error);
        _fail(file, line);
    }
}

uint64_t kt_rev(kvw_version v)
{
    uint64_t rev = 0;
    assert_int_equal(kvw_version_to_u64(&v, &rev), KVW_OK);
    assert_true(rev > 0);
    return rev;
}

void kt_filter_from_env(void)
{
    const char *f = getenv("KVW_TEST_FILTER");
    if (f && *f)
        cmocka_set_test_filter(f);
}
