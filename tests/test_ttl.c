/*
 * ttl: per-key TTL (nats-server 2.11+, ADR-48) and feature detection, on
 * whatever server $NATS_SERVER_BIN is. On older servers the TTL cases check
 * that kvw refuses with KVW_ENOTSUP and then skip, saying which version they
 * need. $KVW_SERVER_VERSION ("2.15.2"), when set, must be what kvw reports.
 * Expiry is read back by nats.c's kvStore_Get too, a client kvw did not write.
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
#include <nats/nats.h>

#include "support/kvwtest.h"
#include "support/natsreader.h"

static ts_server *g_server;
static kt_nats g_nats;
static int g_version; /* the server's, as kvw reports it */

#define TTL_SERVER 21100

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
    kt_ctx *ctx = kt_ctx_new(g_server);
    *state = ctx;
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    kt_ctx_free(*state);
    return 0;
}

static void skip_before_ttl_server(void)
{
    if (g_version < TTL_SERVER) {
        print_message("[  SKIP    ] needs nats-server 2.11 or newer (this is %d.%d.%d)\n", g_version / 10000,
                      g_version / 100 % 100, g_version % 100);
        skip();
    }
}

/* A bucket with per-key TTL: history `history`, marker TTL `marker_ms`, max age `max_age_ms`. */
static void open_ttl_bucket(kt_ctx *ctx, int history, int64_t marker_ms, int64_t max_age_ms)
{
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = history;
    bo.allow_ttl = 1;
    bo.limit_marker_ttl_ms = marker_ms;
    bo.max_age_ms = max_age_ms;
    kt_open(ctx, NULL, "ttl", &bo);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL), 1);
}

static kt_rec *submit_wait(kt_ctx *ctx, kt_rec *r, int rc)
{
    assert_int_equal(rc, 0);
    assert_int_equal(kt_rec_wait(r), 0);
    (void)ctx;
    return r;
}

static kt_rec *create_ttl(kt_ctx *ctx, kvw_bucket *b, const char *key, const char *v, int64_t ttl)
{
    kt_rec *r = kt_rec_new(ctx);
    return submit_wait(ctx, r, kvw_create_ttl(b, key, v, strlen(v), ttl, kt_rec_cb, r));
}

/* nats.c's kvStore_Get: 1 when it returns a live value, 0 when not found. */
static int nats_sees(kt_ctx *ctx, const char *key)
{
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    assert_int_equal(js_KeyValue(&kv, g_nats.js, ctx->bucket_name), NATS_OK);
    natsStatus s = kvStore_Get(&e, kv, key);
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    assert_true(s == NATS_OK || s == NATS_NOT_FOUND);
    return s == NATS_OK;
}

/* Polls kvw_get until it says `want` (KVW_OK / KVW_ENOTFOUND); asserts within `ms`. */
static void wait_get(kt_ctx *ctx, const char *key, int want, int ms)
{
    int64_t deadline = kt_now_ms() + ms;
    int last = 0;
    do {
        kt_rec *r = kt_get(ctx, ctx->bucket, key);
        last = r->status;
        if (last == want) return;
        kt_sleep_ms(100);
    } while (kt_now_ms() < deadline);
    fail_msg("%s: still %s after %d ms, wanted %s", key, kvw_err_name(last), ms, kvw_err_name(want));
}

/* ------------------------------------------------------------------ cases */

static void test_server_version(void **state)
{
    (void)state;
    assert_true(g_version > 20000 && g_version < 30000);
    const char *want = getenv("KVW_SERVER_VERSION");
    if (want != NULL && *want != '\0') {
        int ma = 0, mi = 0, up = 0;
        assert_int_equal(sscanf(want, "%d.%d.%d", &ma, &mi, &up), 3);
        assert_int_equal(g_version, ma * 10000 + mi * 100 + up);
    }
}

static void test_bad_ttl_values(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "badttl", NULL);
    const int64_t bad[] = {0, -2, -1000, 999, 1, 1500, KVW_TTL_MAX_MS + 1000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_rec *r = kt_rec_new(ctx);
        assert_int_equal(kvw_create_ttl(ctx->bucket, "k", "v", 1, bad[i], kt_rec_cb, r), KVW_EBADTTL);
        assert_int_equal(kvw_put_ttl(ctx->bucket, "k", "v", 1, bad[i], kt_rec_cb, r), KVW_EBADTTL);
        assert_int_equal(kvw_purge_ttl(ctx->bucket, "k", bad[i], kt_rec_cb, r), KVW_EBADTTL);
        assert_int_equal(kvw_delete_ttl(ctx->bucket, "k", bad[i], kt_rec_cb, r), KVW_EBADTTL);
        assert_int_equal(kt_rec_calls(r), 0);
    }
    /* Argument checks come first, as for the ops without TTL. */
    assert_int_equal(kvw_create_ttl(NULL, "k", "v", 1, 1000, kt_rec_cb, NULL), KVW_EINVAL);
    assert_int_equal(kvw_create_ttl(ctx->bucket, "bad key", "v", 1, 1000, kt_rec_cb, NULL), KVW_EBADKEY);
    assert_int_equal(kvw_update_ttl(ctx->bucket, "k", "v", 1, NULL, 1000, kt_rec_cb, NULL), KVW_EINVAL);
    assert_int_equal(kvw_bucket_enable_ttl(ctx->bucket, -1), KVW_EINVAL);
    assert_int_equal(kvw_bucket_enable_ttl(ctx->bucket, 1500), KVW_EBADTTL);
    assert_int_equal(kvw_bucket_enable_ttl(NULL, 0), KVW_EINVAL);
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.limit_marker_ttl_ms = 500;
    kvw_bucket *b = NULL;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, "never_made", &bo), KVW_EBADTTL);
    bo.limit_marker_ttl_ms = 0;
    bo.allow_ttl = 2;
    assert_int_equal(kvw_bucket_open(&b, ctx->client, "never_made", &bo), KVW_EINVAL);
    assert_null(b);
}

static void test_refused_without_support(void **state)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "nottl", NULL);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL), 0);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL_ON_WRITE), 0);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_LIMIT_MARKERS), 0);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, 99), KVW_EINVAL);
    assert_int_equal(kvw_bucket_supports(NULL, KVW_FEATURE_TTL), KVW_EINVAL);
    const char *why = kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_TTL);
    print_message("  ttl on a plain bucket: %s\n", why);
    assert_non_null(strstr(why, g_version < TTL_SERVER ? "2.11" : "allow_ttl"));
    kt_rec *r = kt_rec_new(ctx);
    kvw_version v = kvw_version_from_u64(1);
    assert_int_equal(kvw_create_ttl(ctx->bucket, "k", "v", 1, 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kvw_purge_ttl(ctx->bucket, "k", 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kvw_put_ttl(ctx->bucket, "k", "v", 1, 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kvw_update_ttl(ctx->bucket, "k", "v", 1, &v, 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kvw_delete_ttl(ctx->bucket, "k", 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kt_rec_calls(r), 0);
    /* Nothing reached the server. */
    assert_int_equal(kt_get_entry(ctx, ctx->bucket, "k")->status, KVW_ENOTFOUND);

    if (g_version < TTL_SERVER) {
        kvw_bucket_options bo;
        kvw_bucket_options_init(&bo);
        bo.create_if_missing = 1;
        bo.allow_ttl = 1;
        kvw_bucket *b = NULL;
        assert_int_equal(kvw_bucket_open(&b, ctx->client, "ttl_on_old_server", &bo), KVW_ENOTSUP);
        assert_int_equal(kvw_bucket_enable_ttl(ctx->bucket, 0), KVW_ENOTSUP);
        /* Not created either. */
        bo.create_if_missing = 0;
        assert_int_equal(kvw_bucket_open(&b, ctx->client, "ttl_on_old_server", &bo), KVW_ENOBUCKET);
    }
}

static void test_create_ttl_expires_and_can_be_created_again(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 1, 0, 0);
    assert_string_equal(kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_TTL), "supported");
    kt_rec *c = create_ttl(ctx, ctx->bucket, "lock", "owner-1", 1000);
    kt_assert_status(c, KVW_OK);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "lock");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->ttl_ms, 1000);
    assert_int_equal(kt_rev(e->version), kt_rev(c->version));
    assert_true(nats_sees(ctx, "lock"));
    /* Held: a second creator loses while it lives. */
    kt_assert_status(create_ttl(ctx, ctx->bucket, "lock", "owner-2", 1000), KVW_EEXIST);

    wait_get(ctx, "lock", KVW_ENOTFOUND, 5000);
    assert_false(nats_sees(ctx, "lock"));
    kt_assert_status(create_ttl(ctx, ctx->bucket, "lock", "owner-2", 1000), KVW_OK);
    kt_rec *g = kt_get(ctx, ctx->bucket, "lock");
    kt_assert_status(g, KVW_OK);
    assert_memory_equal(g->value, "owner-2", 7);
    /* The largest TTL kvw accepts is one the server takes too. */
    kt_assert_status(create_ttl(ctx, ctx->bucket, "far", "v", KVW_TTL_MAX_MS), KVW_OK);
    assert_int_equal(kt_get_entry(ctx, ctx->bucket, "far")->ttl_ms, KVW_TTL_MAX_MS);
}

static void test_racing_creators_on_expired_key(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 1, 0, 0);
    kt_assert_status(create_ttl(ctx, ctx->bucket, "lease", "first", 1000), KVW_OK);
    wait_get(ctx, "lease", KVW_ENOTFOUND, 5000);

    /* A second client on the same bucket: the racers do not share a connection. */
    kvw_client_options o;
    kt_client_options(ctx, &o);
    kvw_client *c2 = NULL;
    kvw_bucket *b2 = NULL;
    assert_int_equal(kvw_client_open(&c2, &o), 0);
    assert_int_equal(kvw_bucket_open(&b2, c2, ctx->bucket_name, NULL), 0);
    enum { N = 16 };
    kt_rec *r[N];
    for (int i = 0; i < N; i++) {
        r[i] = kt_rec_new(ctx);
        assert_int_equal(kvw_create_ttl(i % 2 ? b2 : ctx->bucket, "lease", "racer", 5, 5000, kt_rec_cb, r[i]), 0);
    }
    int won = 0, lost = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(kt_rec_wait(r[i]), 0);
        if (r[i]->status == KVW_OK) won++;
        else if (r[i]->status == KVW_EEXIST) lost++;
        else fail_msg("racer %d: %s (%s)", i, r[i]->status_name, r[i]->message);
    }
    assert_int_equal(won, 1);
    assert_int_equal(lost, N - 1);
    kvw_bucket_free(b2);
    kvw_client_free(c2);
}

static void test_renewed_lease_survives(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 1, 0, 0);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL_ON_WRITE), 1);
    kt_rec *kept = create_ttl(ctx, ctx->bucket, "kept", "a", 2000);
    kt_rec *lapsed = create_ttl(ctx, ctx->bucket, "lapsed", "b", 2000);
    kt_assert_status(kept, KVW_OK);
    kt_assert_status(lapsed, KVW_OK);
    kvw_version v = kept->version;
    for (int i = 0; i < 3; i++) { /* renew every second for 3 s */
        kt_sleep_ms(1000);
        kt_rec *u = kt_rec_new(ctx);
        submit_wait(ctx, u, kvw_update_ttl(ctx->bucket, "kept", "a", 1, &v, 2000, kt_rec_cb, u));
        kt_assert_status(u, KVW_OK);
        v = u->version;
    }
    kt_assert_status(kt_get(ctx, ctx->bucket, "kept"), KVW_OK);
    kt_assert_status(kt_get(ctx, ctx->bucket, "lapsed"), KVW_ENOTFOUND);
    /* A stale renewal is a conflict, as for kvw_update. */
    kt_rec *stale = kt_rec_new(ctx);
    submit_wait(ctx, stale, kvw_update_ttl(ctx->bucket, "kept", "a", 1, &kept->version, 2000, kt_rec_cb, stale));
    kt_assert_status(stale, KVW_ECONFLICT);
    assert_int_equal(kt_rev(stale->version), kt_rev(v));
    /* put_ttl on a history-1 bucket. */
    kt_rec *p = kt_rec_new(ctx);
    submit_wait(ctx, p, kvw_put_ttl(ctx->bucket, "p", "x", 1, 1000, kt_rec_cb, p));
    kt_assert_status(p, KVW_OK);
    /* delete_ttl: the DEL marker goes away too, leaving no record. */
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "d", "x"), KVW_OK);
    kt_rec *d = kt_rec_new(ctx);
    submit_wait(ctx, d, kvw_delete_ttl(ctx->bucket, "d", 1000, kt_rec_cb, d));
    kt_assert_status(d, KVW_OK);
    kt_rec *de = kt_get_entry(ctx, ctx->bucket, "d");
    assert_int_equal(de->entry_op, KVW_ENTRY_DELETE);
    assert_int_equal(de->ttl_ms, 1000);
    int64_t deadline = kt_now_ms() + 5000;
    while (kt_get_entry(ctx, ctx->bucket, "d")->status != KVW_ENOTFOUND && kt_now_ms() < deadline)
        kt_sleep_ms(100);
    kt_assert_status(kt_get_entry(ctx, ctx->bucket, "d"), KVW_ENOTFOUND);
    wait_get(ctx, "kept", KVW_ENOTFOUND, 5000);
    wait_get(ctx, "p", KVW_ENOTFOUND, 5000);
}

static void test_ttl_on_write_needs_history_1(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 5, 0, 0);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL_ON_WRITE), 0);
    const char *why = kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_TTL_ON_WRITE);
    print_message("  ttl on put, history 5: %s\n", why);
    assert_non_null(strstr(why, "history 1"));
    kt_rec *r = kt_rec_new(ctx);
    kvw_version v = kvw_version_from_u64(1);
    assert_int_equal(kvw_put_ttl(ctx->bucket, "k", "v", 1, 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kvw_update_ttl(ctx->bucket, "k", "v", 1, &v, 5000, kt_rec_cb, r), KVW_ENOTSUP);
    assert_int_equal(kvw_delete_ttl(ctx->bucket, "k", 5000, kt_rec_cb, r), KVW_ENOTSUP);
    /* create and purge stay safe with history: what lies below them is a marker. */
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "k", "old"), KVW_OK);
    kt_assert_status(kt_delete(ctx, ctx->bucket, "k"), KVW_OK);
    kt_assert_status(create_ttl(ctx, ctx->bucket, "k", "new", 1000), KVW_OK);
    wait_get(ctx, "k", KVW_ENOTFOUND, 5000);
    /* What is left is the DEL marker (2.12+) or nothing (2.11 drops it too),
     * never "old". */
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    if (e->status != KVW_ENOTFOUND) {
        kt_assert_status(e, KVW_OK);
        assert_int_equal(e->entry_op, KVW_ENTRY_DELETE);
    }
}

static void test_purge_ttl_marker_goes_away(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 3, 0, 0);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "k", "v1"), KVW_OK);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "k", "v2"), KVW_OK);
    kt_rec *p = kt_rec_new(ctx);
    submit_wait(ctx, p, kvw_purge_ttl(ctx->bucket, "k", 1000, kt_rec_cb, p));
    kt_assert_status(p, KVW_OK);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_PURGE);
    assert_int_equal(e->ttl_ms, 1000);
    /* Then the subject holds nothing at all. */
    int64_t deadline = kt_now_ms() + 5000;
    while (kt_get_entry(ctx, ctx->bucket, "k")->status != KVW_ENOTFOUND && kt_now_ms() < deadline)
        kt_sleep_ms(100);
    kt_assert_status(kt_get_entry(ctx, ctx->bucket, "k"), KVW_ENOTFOUND);
    kt_assert_status(kt_create_s(ctx, ctx->bucket, "k", "again"), KVW_OK);
}

static void test_limit_markers_after_max_age(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 1, 5000, 1000);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_LIMIT_MARKERS), 1);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "k", "v"), KVW_OK);
    /* max_age removes the value and the server writes a MaxAge marker. */
    int64_t deadline = kt_now_ms() + 8000;
    kt_rec *e;
    do {
        kt_sleep_ms(100);
        e = kt_get_entry(ctx, ctx->bucket, "k");
    } while (e->status == KVW_OK && e->entry_op == KVW_ENTRY_PUT && kt_now_ms() < deadline);
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_PURGE);
    assert_int_equal(e->ttl_ms, 5000);
    kt_assert_status(kt_get(ctx, ctx->bucket, "k"), KVW_ENOTFOUND);
    /* create treats the server's marker like a purge. */
    kt_assert_status(kt_create_s(ctx, ctx->bucket, "k", "again"), KVW_OK);
}

static void test_enable_ttl_on_existing_bucket(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, "later", NULL);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "old", "v"), KVW_OK);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL), 0);
    assert_int_equal(kvw_bucket_enable_ttl(ctx->bucket, 2000), KVW_OK);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_TTL), 1);
    assert_int_equal(kvw_bucket_supports(ctx->bucket, KVW_FEATURE_LIMIT_MARKERS), 1);
    kt_assert_status(create_ttl(ctx, ctx->bucket, "new", "v", 1000), KVW_OK);
    assert_true(nats_sees(ctx, "new"));
    /* A fresh handle reads the changed configuration. */
    kvw_bucket *b2 = NULL;
    assert_int_equal(kvw_bucket_open(&b2, ctx->client, ctx->bucket_name, NULL), 0);
    assert_int_equal(kvw_bucket_supports(b2, KVW_FEATURE_TTL), 1);
    kvw_bucket_free(b2);
    kt_assert_status(kt_get(ctx, ctx->bucket, "old"), KVW_OK); /* data untouched */
    wait_get(ctx, "new", KVW_ENOTFOUND, 5000);
}

static void test_ttl_never_outlives_max_age(void **state)
{
    skip_before_ttl_server();
    kt_ctx *ctx = *state;
    open_ttl_bucket(ctx, 1, 0, 1000);
    kt_assert_status(create_ttl(ctx, ctx->bucket, "forever", "v", KVW_TTL_NEVER), KVW_OK);
    kt_assert_status(kt_put_s(ctx, ctx->bucket, "aging", "v"), KVW_OK);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "forever");
    assert_int_equal(e->ttl_ms, KVW_TTL_NEVER);
    wait_get(ctx, "aging", KVW_ENOTFOUND, 8000);
    kt_assert_status(kt_get(ctx, ctx->bucket, "forever"), KVW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ttl_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_without_support, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_ttl_expires_and_can_be_created_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_creators_on_expired_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewed_lease_survives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_on_write_needs_history_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_ttl_marker_goes_away, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_markers_after_max_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enable_ttl_on_existing_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_never_outlives_max_age, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("ttl", tests, group_setup, group_teardown);
}
