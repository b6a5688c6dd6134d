/*
 * badinput: every public function refuses bad arguments cleanly (a code,
 * out-parameters set to NULL, no callback, nothing sent), and open-time
 * failures map to their codes (no bucket, no server, bad credentials).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvw/kvw.h>

#include "support/kvwtest.h"

static ts_server *g_server;      /* -js, no auth */
static ts_server *g_auth_server; /* --user u --pass p */
static ts_server *g_token_server; /* token from a config file */

static int group_setup(void **state)
{
    (void)state;
    g_server = ts_server_spawn(NULL);
    const char *const userpass[] = {"--user", "u", "--pass", "p", NULL};
    g_auth_server = ts_server_spawn(userpass);
    const char *const conf[] = {"-c", "%DIR%/token.conf", NULL};
    g_token_server = ts_server_new(conf);
    if (!g_server || !g_auth_server || !g_token_server)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/token.conf", ts_server_dir(g_token_server));
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("authorization {\n  token: \"s3cret\"\n}\n", f);
    fclose(f);
    return ts_server_start(g_token_server);
}

static int group_teardown(void **state)
{
    (void)state;
    ts_server_free(g_token_server);
    ts_server_free(g_auth_server);
    ts_server_free(g_server);
    return 0;
}

static int setup(void **state)
{
    *state = kt_ctx_new(g_server);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    kt_ctx_free(*state);
    return 0;
}

#define SENTINEL_CLIENT ((kvw_client *)(uintptr_t)0x1)
#define SENTINEL_BUCKET ((kvw_bucket *)(uintptr_t)0x1)

/* ------------------------------------------------------------ no server */

static void test_library_version(void **state)
{
    (void)state;
    assert_int_equal(kvw_library_version(), KVW_VERSION_NUMBER);
    assert_non_null(kvw_library_version_string());
    assert_string_equal(kvw_library_version_string(), KVW_VERSION_STRING);
    assert_int_equal(KVW_CHECK_VERSION(), 0);
    /* same major, older minor: fine */
    assert_int_equal(kvw_library_check_version(KVW_VERSION_MAJOR * 10000), 0);
    /* newer minor, other major: refused */
    assert_int_equal(kvw_library_check_version(KVW_VERSION_NUMBER + 100), KVW_EINVAL);
    assert_int_equal(kvw_library_check_version((KVW_VERSION_MAJOR + 1) * 10000), KVW_EINVAL);
    assert_int_equal(kvw_library_check_version(-1), KVW_EINVAL);
}

static void test_error_codes(void **state)
{
    (void)state;
    static const char *names[] = {
        "KVW_OK",      "KVW_EINVAL",    "KVW_EBADKEY",   "KVW_EBADNAME", "KVW_EBADVERSION",
        "KVW_ETOOBIG", "KVW_EEXIST",    "KVW_ECONFLICT", "KVW_ENOTFOUND", "KVW_ETIMEDOUT",
        "KVW_ENOTCONN", "KVW_ENOBUCKET", "KVW_EFULL",    "KVW_ECLOSED",  "KVW_EBUSY",
        "KVW_ENOMEM",  "KVW_EAUTH",     "KVW_EPERM",     "KVW_ETLS",     "KVW_ESERVER",
        "KVW_EINTERNAL"};
    const int ncodes = (int)(sizeof names / sizeof names[0]);
    assert_int_equal(-(ncodes - 1), KVW_EINTERNAL);
    for (int i = 0; i < ncodes; i++) {
        int code = -i;
        const char *msg = kvw_strerror(code);
        const char *name = kvw_err_name(code);
        assert_non_null(msg);
        assert_true(strlen(msg) > 0);
        assert_non_null(name);
        if (strcmp(name, names[i]) != 0)
            print_error("kvw_err_name(%d) = \"%s\", want \"%s\"\n", code, name, names[i]);
        assert_string_equal(name, names[i]);
        for (int j = 0; j < i; j++) /* distinct messages */
            assert_string_not_equal(msg, kvw_strerror(-j));
    }
    const int unknown[] = {1, 42, -21, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_non_null(kvw_strerror(unknown[i]));
        assert_true(strlen(kvw_strerror(unknown[i])) > 0);
        assert_non_null(kvw_err_name(unknown[i]));
        assert_true(strlen(kvw_err_name(unknown[i])) > 0);
    }

    const int retryable[] = {KVW_ETIMEDOUT, KVW_ENOTCONN, KVW_EBUSY};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(kvw_err_is_retryable(retryable[i]), 1);
    const int final[] = {KVW_OK,      KVW_EINVAL,    KVW_EBADKEY,  KVW_EBADNAME,
                         KVW_EBADVERSION, KVW_ETOOBIG, KVW_EEXIST, KVW_ECONFLICT,
                         KVW_ENOBUCKET, KVW_EAUTH, KVW_EPERM};
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        assert_int_equal(kvw_err_is_retryable(final[i]), 0);

    assert_int_equal(kvw_err_outcome_unknown(KVW_ETIMEDOUT), 1);
    assert_int_equal(kvw_err_outcome_unknown(KVW_ECLOSED), 1);
    const int known[] = {KVW_OK,      KVW_EINVAL, KVW_EBADKEY,   KVW_EBADVERSION, KVW_ETOOBIG,
                         KVW_EEXIST,  KVW_ECONFLICT, KVW_ENOTFOUND, KVW_EBUSY};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        assert_int_equal(kvw_err_outcome_unknown(known[i]), 0);
}

static void test_op_and_entry_names(void **state)
{
    (void)state;
    assert_string_equal(kvw_op_name(KVW_OP_PUT), "put");
    assert_string_equal(kvw_op_name(KVW_OP_CREATE), "create");
    for (int op = KVW_OP_PUT; op <= KVW_OP_GET_ENTRY; op++) {
        assert_non_null(kvw_op_name(op));
        assert_string_not_equal(kvw_op_name(op), "unknown");
        for (int other = KVW_OP_PUT; other < op; other++)
            assert_string_not_equal(kvw_op_name(op), kvw_op_name(other));
    }
    assert_string_equal(kvw_op_name(0), "unknown");
    assert_string_equal(kvw_op_name(99), "unknown");
    assert_string_equal(kvw_op_name(-1), "unknown");
    assert_string_equal(kvw_entry_op_name(KVW_ENTRY_NONE), "NONE");
    assert_string_equal(kvw_entry_op_name(KVW_ENTRY_PUT), "PUT");
    assert_string_equal(kvw_entry_op_name(KVW_ENTRY_DELETE), "DEL");
    assert_string_equal(kvw_entry_op_name(KVW_ENTRY_PURGE), "PURGE");
    assert_non_null(kvw_entry_op_name(99));
    assert_non_null(kvw_entry_op_name(-1));
}

static void test_options_init(void **state)
{
    (void)state;
    const kvw_client_options want = KVW_CLIENT_OPTIONS_INIT;
    kvw_client_options o;
    memset(&o, 0x5a, sizeof o);
    assert_int_equal(kvw_client_options_init(&o), 0);
    assert_int_equal(o.version, KVW_CLIENT_OPTIONS_VERSION);
    assert_null(o.servers);
    assert_null(o.name);
    assert_null(o.user);
    assert_null(o.password);
    assert_null(o.token);
    assert_null(o.credentials_file);
    assert_null(o.tls_ca_file);
    assert_null(o.tls_cert_file);
    assert_null(o.tls_key_file);
    assert_int_equal(o.tls_required, want.tls_required);
    assert_int_equal(o.connect_timeout_ms, want.connect_timeout_ms);
    assert_int_equal(o.op_timeout_ms, want.op_timeout_ms);
    assert_int_equal(o.max_inflight, want.max_inflight);
    assert_int_equal(o.max_reconnect, want.max_reconnect);
    assert_int_equal(o.reconnect_wait_ms, want.reconnect_wait_ms);
    assert_int_equal(o.delivery, KVW_DELIVERY_THREAD);
    assert_null(o.uv_loop);
    assert_int_equal(kvw_client_options_init(NULL), KVW_EINVAL);

    const kvw_bucket_options bwant = KVW_BUCKET_OPTIONS_INIT;
    kvw_bucket_options b;
    memset(&b, 0x5a, sizeof b);
    assert_int_equal(kvw_bucket_options_init(&b), 0);
    assert_int_equal(b.version, KVW_BUCKET_OPTIONS_VERSION);
    assert_int_equal(b.create_if_missing, bwant.create_if_missing);
    assert_int_equal(b.history, bwant.history);
    assert_int_equal(b.max_age_ms, bwant.max_age_ms);
    assert_int_equal(b.max_bytes, bwant.max_bytes);
    assert_int_equal(b.max_value_size, bwant.max_value_size);
    assert_int_equal(b.replicas, bwant.replicas);
    assert_int_equal(b.storage, bwant.storage);
    assert_int_equal(kvw_bucket_options_init(NULL), KVW_EINVAL);
}

static void test_version_null_arguments(void **state)
{
    (void)state;
    kvw_version v = kvw_version_from_u64(9);
    uint64_t out = 5;
    int rc = kvw_version_to_u64(NULL, &out);
    assert_int_equal(rc, KVW_EINVAL);
    assert_int_equal(out, 0);
    assert_int_equal(kvw_version_to_u64(&v, NULL), KVW_EINVAL);
    assert_int_equal(kvw_version_is_unknown(NULL), 1);
    assert_int_equal(kvw_version_equal(NULL, NULL), 0);
    assert_int_equal(kvw_version_equal(&v, NULL), 0);
    char buf[KVW_VERSION_STRLEN];
    assert_int_equal(kvw_version_format(NULL, buf, sizeof buf), KVW_EINVAL);
    assert_int_equal(kvw_version_format(&v, NULL, sizeof buf), KVW_EINVAL);
    assert_int_equal(kvw_version_parse(NULL, "1"), KVW_EINVAL);
    kvw_version p = kvw_version_from_u64(3);
    assert_int_equal(kvw_version_parse(&p, NULL), KVW_EINVAL);
    assert_true(kvw_version_is_unknown(&p));
}

static void test_key_and_name_checks(void **state)
{
    (void)state;
    char longkey[KVW_KEY_MAX + 2];
    memset(longkey, 'a', sizeof longkey);
    longkey[KVW_KEY_MAX] = '\0';
    assert_int_equal(kvw_key_check(longkey), 0);
    longkey[KVW_KEY_MAX] = 'a';
    longkey[KVW_KEY_MAX + 1] = '\0';
    assert_int_equal(kvw_key_check(longkey), KVW_EBADKEY);

    const char *good[] = {"a", "A", "0", "-", "_", "=", "/", "a.b", "a/b=c-d_e.F9", "x.y.z"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (kvw_key_check(good[i]) != 0)
            print_error("valid key \"%s\" refused\n", good[i]);
        assert_int_equal(kvw_key_check(good[i]), 0);
    }
    const char *bad[] = {"",   ".",    ".a",  "a.",  "a..b", "..",   "a b", " a",  "a ",
                         "*",  "a.*",  ">",   "a.>", "a*",   "a>",   "\xc3\xa4", "k\xc3\xa4y",
                         "a\tb", "a\nb", "a\\b", "a:b",  "a,b",  "$KV", "a#b",  "a%b", "a@b",
                         "a\x7f", "a+b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (kvw_key_check(bad[i]) != KVW_EBADKEY)
            print_error("invalid key \"%s\" (#%zu) accepted\n", bad[i], i);
        assert_int_equal(kvw_key_check(bad[i]), KVW_EBADKEY);
    }
    assert_int_equal(kvw_key_check(NULL), KVW_EINVAL);

    const char *goodn[] = {"a", "A", "0", "-", "_", "Az09_-", "KV_bucket-1"};
    for (size_t i = 0; i < sizeof goodn / sizeof goodn[0]; i++)
        assert_int_equal(kvw_bucket_name_check(goodn[i]), 0);
    const char *badn[] = {"", " ", "a.b", "a b", "a*", ">", "a>", "a/b", "a=b", "\xc3\xa4",
                          "a\n", "$KV", "a.", ".a"};
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
        if (kvw_bucket_name_check(badn[i]) != KVW_EBADNAME)
            print_error("invalid bucket name \"%s\" accepted\n", badn[i]);
        assert_int_equal(kvw_bucket_name_check(badn[i]), KVW_EBADNAME);
    }
    assert_int_equal(kvw_bucket_name_check(NULL), KVW_EINVAL);
}

static void test_client_null_and_bad_options(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    assert_int_equal(kvw_client_open(NULL, &o), KVW_EINVAL);

    kvw_client *c;
    struct {
        const char *what;
        kvw_client_options o;
    } cases[8];
    int n = 0;
    for (int i = 0; i < 8; i++)
        cases[i].o = o;
    cases[n].what = "version 0";
    cases[n++].o.version = 0;
    cases[n].what = "delivery 7";
    cases[n++].o.delivery = (kvw_delivery)7;
    cases[n].what = "libuv delivery without a loop";
    cases[n++].o.delivery = KVW_DELIVERY_LIBUV;
    cases[n].what = "negative op timeout";
    cases[n++].o.op_timeout_ms = -5;
    cases[n].what = "negative connect timeout";
    cases[n++].o.connect_timeout_ms = -5;
    for (int i = 0; i < n; i++) {
        c = SENTINEL_CLIENT;
        int rc = kvw_client_open(&c, &cases[i].o);
        if (rc != KVW_EINVAL)
            print_error("client options (%s): %s\n", cases[i].what, kvw_err_name(rc));
        assert_int_equal(rc, KVW_EINVAL);
        assert_null(c);
    }

    assert_int_equal(kvw_client_close(NULL), KVW_EINVAL);
    kvw_client_free(NULL);
    assert_int_equal(kvw_client_fd(NULL), KVW_EINVAL);
    assert_int_equal(kvw_client_poll(NULL, 0), KVW_EINVAL);
    assert_int_equal(kvw_client_inflight(NULL), KVW_EINVAL);
}

/* kvw.h: "NULL strings and zero numbers mean the default named in brackets". */
static void test_zero_options_mean_defaults(void **state)
{
    kt_ctx *ctx = *state;
    /* "a zeroed struct with only `version` set is valid" (+ the server URL) */
    kvw_client_options o;
    memset(&o, 0, sizeof o);
    o.version = KVW_CLIENT_OPTIONS_VERSION;
    o.servers = ts_server_url(g_server);
    int rc = kvw_client_open(&ctx->client, &o);
    if (rc != 0)
        print_error("zeroed options: %s\n", kvw_err_name(rc));
    assert_int_equal(rc, 0);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    char name[64];
    kt_unique_name(name, sizeof name, "zero");
    assert_int_equal(kvw_bucket_open(&ctx->bucket, ctx->client, name, &bo), 0);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "k", "v"), KVW_OK);
}

static void test_bucket_null_and_bad_options(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    assert_int_equal(kvw_client_open(&ctx->client, &o), 0);
    kvw_bucket *b;

    assert_int_equal(kvw_bucket_open(NULL, ctx->client, "x", NULL), KVW_EINVAL);
    b = SENTINEL_BUCKET;
    assert_int_equal(kvw_bucket_open(&b, NULL, "x", NULL), KVW_EINVAL);
    assert_null(b);
    b = SENTINEL_BUCKET;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, NULL, NULL), KVW_EINVAL);
    assert_null(b);

    kvw_bucket_options base;
    kvw_bucket_options_init(&base);
    base.create_if_missing = 1;
    struct {
        const char *what;
        kvw_bucket_options o;
    } cases[12];
    int n = 0;
    for (int i = 0; i < 12; i++)
        cases[i].o = base;
    cases[n].what = "version 0";
    cases[n++].o.version = 0;
    cases[n].what = "history 65";
    cases[n++].o.history = 65;
    cases[n].what = "history -1";
    cases[n++].o.history = -1;
    cases[n].what = "replicas 6";
    cases[n++].o.replicas = 6;
    cases[n].what = "replicas -1";
    cases[n++].o.replicas = -1;
    cases[n].what = "storage 7";
    cases[n++].o.storage = (kvw_storage)7;
    cases[n].what = "max_age -1";
    cases[n++].o.max_age_ms = -1;
    cases[n].what = "max_bytes -5";
    cases[n++].o.max_bytes = -5;
    cases[n].what = "max_value_size -2";
    cases[n++].o.max_value_size = -2;
    for (int i = 0; i < n; i++) {
        char name[64];
        kt_unique_name(name, sizeof name, "badopt");
        b = SENTINEL_BUCKET;
        int rc = kvw_bucket_open(&b, ctx->client, name, &cases[i].o);
        if (rc != KVW_EINVAL)
            print_error("bucket options (%s): %s\n", cases[i].what, kvw_err_name(rc));
        assert_int_equal(rc, KVW_EINVAL);
        assert_null(b);
        /* ...and nothing was created. */
        b = SENTINEL_BUCKET;
        assert_int_equal(kvw_bucket_open(&b, ctx->client, name, NULL), KVW_ENOBUCKET);
        assert_null(b);
    }

    assert_int_equal(kvw_bucket_close(NULL), KVW_EINVAL);
    kvw_bucket_free(NULL);
    assert_null(kvw_bucket_name(NULL));
    assert_int_equal(kvw_bucket_max_value_size(NULL), KVW_EINVAL);
}

static void count_cb(const kvw_result *r, void *ud)
{
    (void)r;
    kt_waiter_signal(ud);
}

static kt_waiter g_nullud_waiter;

static void nullud_cb(const kvw_result *r, void *ud)
{
    (void)r;
    (void)ud;
    kt_waiter_signal(&g_nullud_waiter);
}

static void test_op_null_arguments(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "nullops", NULL);
    kvw_bucket *b = ctx->bucket;
    kt_waiter *w = kt_alloc(ctx, sizeof *w);
    kt_waiter_init(w);
    kvw_version v = kvw_version_from_u64(1);
    const char *val = "v";

    /* NULL bucket */
    assert_int_equal(kvw_put(NULL, "k", val, 1, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_create(NULL, "k", val, 1, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_update(NULL, "k", val, 1, &v, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_delete(NULL, "k", count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_delete_with_version(NULL, "k", &v, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_purge(NULL, "k", count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_get(NULL, "k", count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_get_entry(NULL, "k", count_cb, w), KVW_EINVAL);
    /* NULL key */
    assert_int_equal(kvw_put(b, NULL, val, 1, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_create(b, NULL, val, 1, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_update(b, NULL, val, 1, &v, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_delete(b, NULL, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_delete_with_version(b, NULL, &v, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_purge(b, NULL, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_get(b, NULL, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_get_entry(b, NULL, count_cb, w), KVW_EINVAL);
    /* NULL callback */
    assert_int_equal(kvw_put(b, "k", val, 1, NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_create(b, "k", val, 1, NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_update(b, "k", val, 1, &v, NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_delete(b, "k", NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_delete_with_version(b, "k", &v, NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_purge(b, "k", NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_get(b, "k", NULL, w), KVW_EINVAL);
    assert_int_equal(kvw_get_entry(b, "k", NULL, w), KVW_EINVAL);
    /* NULL value with len > 0 */
    assert_int_equal(kvw_put(b, "k", NULL, 1, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_create(b, "k", NULL, 1, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_update(b, "k", NULL, 1, &v, count_cb, w), KVW_EINVAL);
    /* NULL expected version */
    assert_int_equal(kvw_update(b, "k", val, 1, NULL, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_delete_with_version(b, "k", NULL, count_cb, w), KVW_EINVAL);
    assert_int_equal(kvw_client_inflight(ctx->client), 0);

    /* NULL user_data is fine; NULL value with len 0 is an empty value. */
    kt_waiter_init(&g_nullud_waiter);
    assert_int_equal(kvw_put(b, "k", NULL, 0, nullud_cb, NULL), 0);
    assert_int_equal(kt_waiter_wait(&g_nullud_waiter, 1, KT_TIMEOUT_MS), 0);

    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_count(w), 0);
    assert_int_equal(kt_waiter_count(&g_nullud_waiter), 1);
}

static void test_invalid_keys_refused(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "badkeys", NULL);
    kvw_bucket *b = ctx->bucket;
    kt_waiter *w = kt_alloc(ctx, sizeof *w);
    kt_waiter_init(w);
    kvw_version v = kvw_version_from_u64(1);
    char *longkey = kt_alloc(ctx, KVW_KEY_MAX + 2);
    memset(longkey, 'k', KVW_KEY_MAX + 1);
    const char *bad[] = {"", ".a", "a.", ".", "a..b", "a b", "*", ">", "a.*", "a.>",
                         "\xc3\xa4", "k\xc3\xa4y", "a\tb", longkey};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *k = bad[i];
        int rcs[8] = {
            kvw_put(b, k, "v", 1, count_cb, w),
            kvw_create(b, k, "v", 1, count_cb, w),
            kvw_update(b, k, "v", 1, &v, count_cb, w),
            kvw_delete(b, k, count_cb, w),
            kvw_delete_with_version(b, k, &v, count_cb, w),
            kvw_purge(b, k, count_cb, w),
            kvw_get(b, k, count_cb, w),
            kvw_get_entry(b, k, count_cb, w),
        };
        for (int op = 0; op < 8; op++) {
            if (rcs[op] != KVW_EBADKEY)
                print_error("key #%zu \"%.20s\", %s: %s\n", i, k, kvw_op_name(op + 1),
                            kvw_err_name(rcs[op]));
            assert_int_equal(rcs[op], KVW_EBADKEY);
        }
    }
    /* The longest valid key works end to end. */
    longkey[KVW_KEY_MAX] = '\0';
    kt_assert_status(kt_put_s(ctx, b, longkey, "v"), KVW_OK);
    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_count(w), 0);
}

static void test_invalid_bucket_names_refused(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    assert_int_equal(kvw_client_open(&ctx->client, &o), 0);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    const char *bad[] = {"", "a.b", "a b", "a*", ">", "a/b", "\xc3\xa4", "a=b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kvw_bucket *b = SENTINEL_BUCKET;
        int rc = kvw_bucket_open(&b, ctx->client, bad[i], &bo);
        if (rc != KVW_EBADNAME)
            print_error("bucket name \"%s\": %s\n", bad[i], kvw_err_name(rc));
        assert_int_equal(rc, KVW_EBADNAME);
        assert_null(b);
    }
}

static void test_missing_bucket(void **state)
{
    kt_ctx *ctx = *state;
    kvw_client_options o;
    kt_client_options(ctx, &o);
    assert_int_equal(kvw_client_open(&ctx->client, &o), 0);
    char name[64];
    kt_unique_name(name, sizeof name, "missing");
    kvw_bucket *b = SENTINEL_BUCKET;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, name, NULL), KVW_ENOBUCKET);
    assert_null(b);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo); /* create_if_missing = 0 */
    b = SENTINEL_BUCKET;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, name, &bo), KVW_ENOBUCKET);
    assert_null(b);
    /* create_if_missing makes it, and then it opens without. */
    bo.create_if_missing = 1;
    assert_int_equal(kvw_bucket_open(&ctx->bucket, ctx->client, name, &bo), 0);
    kvw_bucket *again = NULL;
    assert_int_equal(kvw_bucket_open(&again, ctx->client, name, NULL), 0);
    assert_non_null(again);
    assert_string_equal(kvw_bucket_name(again), name);
    kvw_bucket_free(again);
}

static void test_values_too_big(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "big", NULL);
    kt_waiter *w = kt_alloc(ctx, sizeof *w);
    kt_waiter_init(w);
    kvw_version v = kvw_version_from_u64(1);

    int64_t max = kvw_bucket_max_value_size(ctx->bucket);
    print_message("server-limited bucket: max value %lld\n", (long long)max);
    assert_true(max > 0);
    assert_true(max <= 1024 * 1024); /* nats-server's default max_payload */
    unsigned char *big = kt_alloc(ctx, (size_t)max + 1);
    memset(big, 'x', (size_t)max + 1);
    assert_int_equal(kvw_put(ctx->bucket, "k", big, (size_t)max + 1, count_cb, w), KVW_ETOOBIG);
    assert_int_equal(kvw_create(ctx->bucket, "k", big, (size_t)max + 1, count_cb, w), KVW_ETOOBIG);
    assert_int_equal(kvw_update(ctx->bucket, "k", big, (size_t)max + 1, &v, count_cb, w),
                     KVW_ETOOBIG);
    /* The advertised maximum itself is accepted and stored. */
    kt_rec *ok = kt_put(ctx, ctx->bucket, "k", big, (size_t)max);
    kt_assert_status(ok, KVW_OK);

    /* A bucket created with max_value_size. */
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.max_value_size = 100;
    char name[64];
    kt_unique_name(name, sizeof name, "small");
    kvw_bucket *small = NULL;
    assert_int_equal(kvw_bucket_open(&small, ctx->client, name, &bo), 0);
    assert_int_equal(kvw_bucket_max_value_size(small), 100);
    assert_int_equal(kvw_put(small, "k", big, 101, count_cb, w), KVW_ETOOBIG);
    assert_int_equal(kvw_create(small, "k", big, 101, count_cb, w), KVW_ETOOBIG);
    kt_rec *ok100 = kt_put(ctx, small, "k", big, 100);
    kt_assert_status(ok100, KVW_OK);
    /* Opened again (not created): the limit comes from the stream. */
    kvw_bucket *again = NULL;
    assert_int_equal(kvw_bucket_open(&again, ctx->client, name, NULL), 0);
    assert_int_equal(kvw_bucket_max_value_size(again), 100);
    assert_int_equal(kvw_put(again, "k", big, 101, count_cb, w), KVW_ETOOBIG);
    kvw_bucket_free(again);
    kvw_bucket_free(small);

    assert_int_equal(kvw_client_close(ctx->client), 0);
    assert_int_equal(kt_waiter_count(w), 0);
}

static void test_no_server(void **state)
{
    (void)state;
    int port = ts_free_port();
    assert_true(port > 0);
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = url;
    o.connect_timeout_ms = 500;
    kvw_client *c = SENTINEL_CLIENT;
    int64_t t0 = kt_now_ms();
    int rc = kvw_client_open(&c, &o);
    assert_int_equal(rc, KVW_ENOTCONN);
    assert_null(c);
    assert_true(kt_now_ms() - t0 < KT_TIMEOUT_MS);
    assert_int_equal(kvw_err_is_retryable(rc), 1);
}

static void expect_open(const ts_server *s, const char *user, const char *pass, const char *token,
                        int want)
{
    kvw_client_options o;
    kvw_client_options_init(&o);
    o.servers = ts_server_url(s);
    o.user = user;
    o.password = pass;
    o.token = token;
    o.connect_timeout_ms = 2000;
    o.max_reconnect = KVW_NO_RECONNECT;
    kvw_client *c = SENTINEL_CLIENT;
    int rc = kvw_client_open(&c, &o);
    if (rc != want)
        print_error("open user=%s pass=%s token=%s: %s, want %s\n", user ? user : "-",
                    pass ? pass : "-", token ? token : "-", kvw_err_name(rc), kvw_err_name(want));
    if (rc == 0)
        kvw_client_free(c);
    assert_int_equal(rc, want);
    if (want != 0)
        assert_null(c);
}

static void test_auth(void **state)
{
    (void)state;
    expect_open(g_auth_server, "u", "wrong", NULL, KVW_EAUTH);
    expect_open(g_auth_server, "nobody", "p", NULL, KVW_EAUTH);
    expect_open(g_auth_server, NULL, NULL, NULL, KVW_EAUTH);
    expect_open(g_auth_server, "u", "p", NULL, 0);
    expect_open(g_token_server, NULL, NULL, "wrong", KVW_EAUTH);
    expect_open(g_token_server, NULL, NULL, NULL, KVW_EAUTH);
    expect_open(g_token_server, NULL, NULL, "s3cret", 0);
    assert_int_equal(kvw_err_is_retryable(KVW_EAUTH), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_version),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_op_and_entry_names),
        cmocka_unit_test(test_options_init),
        cmocka_unit_test(test_version_null_arguments),
        cmocka_unit_test(test_key_and_name_checks),
        cmocka_unit_test_setup_teardown(test_client_null_and_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_options_mean_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_null_and_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_op_null_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_keys_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_bucket_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_too_big, setup, teardown),
        cmocka_unit_test(test_no_server),
        cmocka_unit_test(test_auth),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("badinput", tests, group_setup, group_teardown);
}
