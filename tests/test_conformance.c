/*
 * conformance: what each kvw op does to a bucket (DESIGN.md section 1),
 * checked against a private nats-server, with nats.c's kvStore_* as the
 * independent reader where the stream's own view matters.
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

static int group_setup(void **state)
{
    (void)state;
    g_server = ts_server_spawn(NULL);
    if (!g_server)
        return -1;
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
    kt_ctx_free(*state);
    return 0;
}

/* ------------------------------------------------------------ helpers */

static kt_ctx *open_default(void **state, const char *prefix)
{
    kt_ctx *ctx = *state;
    kt_open(ctx, NULL, prefix, NULL);
    return ctx;
}

static void assert_value(const kt_rec *r, const void *v, size_t n)
{
    assert_false(r->value_was_null);
    assert_int_equal(r->value_len, n);
    if (n)
        assert_memory_equal(r->value, v, n);
}

static void assert_value_s(const kt_rec *r, const char *v) { assert_value(r, v, strlen(v)); }

static void assert_same_version(kvw_version a, kvw_version b)
{
    assert_int_equal(kt_rev(a), kt_rev(b));
}

static void assert_write_ok(const kt_rec *r, kvw_op op, const char *key)
{
    kt_assert_status(r, KVW_OK);
    assert_int_equal(r->op, op);
    assert_non_null(r->key);
    assert_string_equal(r->key, key);
    assert_non_null(r->message);
    assert_int_equal(r->server_error, 0);
    assert_false(kvw_version_is_unknown(&r->version));
}

static kvStore *kv_of(const char *bucket)
{
    kvStore *kv = NULL;
    natsStatus s = js_KeyValue(&kv, g_nats.js, bucket);
    if (s != NATS_OK)
        print_error("js_KeyValue(%s): %s\n", bucket, natsStatus_GetText(s));
    assert_int_equal(s, NATS_OK);
    return kv;
}

/* Revision of the key's latest record as nats.c sees it (markers included). */
static uint64_t nats_last_revision(kvStore *kv, const char *key, kvOperation *op)
{
    kvEntryList list = {0};
    natsStatus s = kvStore_History(&list, kv, key, NULL);
    assert_int_equal(s, NATS_OK);
    assert_true(list.Count > 0);
    kvEntry *last = list.Entries[list.Count - 1];
    uint64_t rev = kvEntry_Revision(last);
    if (op)
        *op = kvEntry_Operation(last);
    kvEntryList_Destroy(&list);
    return rev;
}

/* ------------------------------------------------------------ tests */

static void test_put_get_roundtrip(void **state)
{
    kt_ctx *ctx = open_default(state, "rt");
    const unsigned char bin[] = {0, 1, 2, 'a', 0, 0xff, 0x80, '\n'};

    kt_rec *p = kt_put(ctx, ctx->bucket, "bin", bin, sizeof bin);
    assert_write_ok(p, KVW_OP_PUT, "bin");

    kt_rec *g = kt_get(ctx, ctx->bucket, "bin");
    kt_assert_status(g, KVW_OK);
    assert_int_equal(g->op, KVW_OP_GET);
    assert_string_equal(g->key, "bin");
    assert_int_equal(g->entry_op, KVW_ENTRY_PUT);
    assert_value(g, bin, sizeof bin);
    assert_same_version(g->version, p->version);

    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "bin");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->op, KVW_OP_GET_ENTRY);
    assert_int_equal(e->entry_op, KVW_ENTRY_PUT);
    assert_value(e, bin, sizeof bin);
    assert_same_version(e->version, p->version);

    /* A second put overwrites and gets a larger version. */
    kt_rec *p2 = kt_put_s(ctx, ctx->bucket, "bin", "second");
    assert_write_ok(p2, KVW_OP_PUT, "bin");
    assert_true(kt_rev(p2->version) > kt_rev(p->version));
    kt_rec *g2 = kt_get(ctx, ctx->bucket, "bin");
    kt_assert_status(g2, KVW_OK);
    assert_value_s(g2, "second");
    assert_same_version(g2->version, p2->version);
}

static void test_key_charset_and_max_length(void **state)
{
    kt_ctx *ctx = open_default(state, "keys");
    const char *keys[] = {"a", "A-Z_a=z/0.9", "-", "_", "=", "/", "a.b.c", "x/y/z", "0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char val[32];
        snprintf(val, sizeof val, "v%zu", i);
        kt_rec *p = kt_put_s(ctx, ctx->bucket, keys[i], val);
        assert_write_ok(p, KVW_OP_PUT, keys[i]);
        kt_rec *g = kt_get(ctx, ctx->bucket, keys[i]);
        kt_assert_status(g, KVW_OK);
        assert_value_s(g, val);
    }
    char *longkey = kt_alloc(ctx, KVW_KEY_MAX + 1);
    memset(longkey, 'k', KVW_KEY_MAX);
    kt_rec *p = kt_put_s(ctx, ctx->bucket, longkey, "long");
    assert_write_ok(p, KVW_OP_PUT, longkey);
    kt_rec *g = kt_get(ctx, ctx->bucket, longkey);
    kt_assert_status(g, KVW_OK);
    assert_value_s(g, "long");
}

static void test_large_value_roundtrip(void **state)
{
    kt_ctx *ctx = open_default(state, "large");
    size_t n = 512 * 1024;
    unsigned char *v = kt_alloc(ctx, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (unsigned char)(i * 31 + 7);
    kt_rec *p = kt_put(ctx, ctx->bucket, "big", v, n);
    assert_write_ok(p, KVW_OP_PUT, "big");
    kt_rec *g = kt_get(ctx, ctx->bucket, "big");
    kt_assert_status(g, KVW_OK);
    assert_value(g, v, n);
}

static void test_get_missing_key(void **state)
{
    kt_ctx *ctx = open_default(state, "miss");
    kt_rec *g = kt_get(ctx, ctx->bucket, "never");
    kt_assert_status(g, KVW_ENOTFOUND);
    assert_int_equal(g->op, KVW_OP_GET);
    assert_false(g->value_was_null);
    assert_int_equal(g->value_len, 0);
    assert_true(kvw_version_is_unknown(&g->version));
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "never");
    kt_assert_status(e, KVW_ENOTFOUND);
    assert_int_equal(e->entry_op, KVW_ENTRY_NONE);
    assert_true(kvw_version_is_unknown(&e->version));
}

static void test_create_new_key(void **state)
{
    kt_ctx *ctx = open_default(state, "cnew");
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "first");
    assert_write_ok(c, KVW_OP_CREATE, "k");
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_value_s(g, "first");
    assert_same_version(g->version, c->version);
}

static void test_create_conflicts_on_live_key(void **state)
{
    kt_ctx *ctx = open_default(state, "clive");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "live");
    assert_write_ok(p, KVW_OP_PUT, "k");
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "other");
    kt_assert_status(c, KVW_EEXIST);
    assert_int_equal(c->op, KVW_OP_CREATE);
    assert_same_version(c->version, p->version);
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    assert_value_s(g, "live");
    assert_same_version(g->version, p->version);
    /* A create that refused wrote nothing. */
    kt_rec *p2 = kt_put_s(ctx, ctx->bucket, "other", "x");
    assert_int_equal(kt_rev(p2->version), kt_rev(p->version) + 1);
}

static void test_create_after_delete(void **state)
{
    kt_ctx *ctx = open_default(state, "cdel");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v1");
    assert_write_ok(p, KVW_OP_PUT, "k");
    kt_rec *d = kt_delete(ctx, ctx->bucket, "k");
    assert_write_ok(d, KVW_OP_DELETE, "k");
    assert_true(kt_rev(d->version) > kt_rev(p->version));
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "v2");
    assert_write_ok(c, KVW_OP_CREATE, "k");
    assert_true(kt_rev(c->version) > kt_rev(d->version));
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_value_s(g, "v2");
    assert_same_version(g->version, c->version);
    /* ...and now the key is live again: a second create refuses. */
    kt_rec *c2 = kt_create_s(ctx, ctx->bucket, "k", "v3");
    kt_assert_status(c2, KVW_EEXIST);
}

static void test_create_after_purge(void **state)
{
    kt_ctx *ctx = open_default(state, "cpurge");
    kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_rec *pu = kt_purge(ctx, ctx->bucket, "k");
    assert_write_ok(pu, KVW_OP_PURGE, "k");
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "v2");
    assert_write_ok(c, KVW_OP_CREATE, "k");
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_value_s(g, "v2");
}

static void test_create_conflicts_after_delete_with_version(void **state)
{
    kt_ctx *ctx = open_default(state, "cdwv");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v1");
    assert_write_ok(p, KVW_OP_PUT, "k");
    kt_rec *t = kt_delete_v(ctx, ctx->bucket, "k", p->version);
    assert_write_ok(t, KVW_OP_DELETE_WITH_VERSION, "k");
    for (int i = 0; i < 2; i++) { /* keeps refusing */
        kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "v2");
        kt_assert_status(c, KVW_EEXIST);
        assert_same_version(c->version, t->version);
    }
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_PUT);
    assert_int_equal(e->value_len, 0);
    assert_same_version(e->version, t->version);
}

typedef struct race_arg {
    pthread_barrier_t *barrier;
    kvw_bucket *bucket;
    const char *key;
    const char *value;
    kt_rec *rec;
    int rc;
} race_arg;

static void *race_create(void *p)
{
    race_arg *a = p;
    pthread_barrier_wait(a->barrier);
    a->rc = kvw_create(a->bucket, a->key, a->value, strlen(a->value), kt_rec_cb, a->rec);
    return NULL;
}

static void race_round(kt_ctx *ctx, const char *key, int deleted_first)
{
    if (deleted_first) {
        kt_put_s(ctx, ctx->bucket, key, "old");
        kt_rec *d = kt_delete(ctx, ctx->bucket, key);
        kt_assert_status(d, KVW_OK);
    }
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    race_arg a[2] = {{&barrier, ctx->bucket, key, "from-A", kt_rec_new(ctx), -99},
                     {&barrier, ctx->bucket, key, "from-B", kt_rec_new(ctx), -99}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_create, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a[0].rc, 0);
    assert_int_equal(a[1].rc, 0);
    assert_int_equal(kt_rec_wait(a[0].rec), 0);
    assert_int_equal(kt_rec_wait(a[1].rec), 0);

    int wins = 0, winner = -1;
    for (int i = 0; i < 2; i++) {
        if (a[i].rec->status == KVW_OK) {
            wins++;
            winner = i;
        }
    }
    if (wins != 1)
        print_error("key %s (deleted first: %d): statuses %s / %s (%s / %s)\n", key, deleted_first,
                    kvw_err_name(a[0].rec->status), kvw_err_name(a[1].rec->status),
                    a[0].rec->message, a[1].rec->message);
    assert_int_equal(wins, 1);
    kt_assert_status(a[1 - winner].rec, KVW_EEXIST);
    kt_rec *g = kt_get(ctx, ctx->bucket, key);
    kt_assert_status(g, KVW_OK);
    assert_value_s(g, a[winner].value);
    assert_same_version(g->version, a[winner].rec->version);
}

static void test_racing_creates_after_delete(void **state)
{
    kt_ctx *ctx = open_default(state, "race");
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "deleted%d", i);
        race_round(ctx, key, 1);
    }
    for (int i = 0; i < 10; i++) {
        char key[32];
        snprintf(key, sizeof key, "fresh%d", i);
        race_round(ctx, key, 0);
    }
}

static void test_update_cas(void **state)
{
    kt_ctx *ctx = open_default(state, "upd");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v1");
    assert_write_ok(p, KVW_OP_PUT, "k");
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "k", "v2", p->version);
    assert_write_ok(u, KVW_OP_UPDATE, "k");
    assert_true(kt_rev(u->version) > kt_rev(p->version));

    kt_rec *stale = kt_update_s(ctx, ctx->bucket, "k", "v3", p->version);
    kt_assert_status(stale, KVW_ECONFLICT);
    assert_int_equal(stale->op, KVW_OP_UPDATE);
    assert_int_equal(stale->server_error, 10071);
    assert_same_version(stale->version, u->version);

    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    assert_value_s(g, "v2");
    assert_same_version(g->version, u->version);

    /* The current version keeps working after a conflict. */
    kt_rec *u2 = kt_update_s(ctx, ctx->bucket, "k", "v4", u->version);
    assert_write_ok(u2, KVW_OP_UPDATE, "k");
}

static void test_update_missing_key_conflicts(void **state)
{
    kt_ctx *ctx = open_default(state, "updmiss");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "other", "x");
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "missing", "v", p->version);
    kt_assert_status(u, KVW_ECONFLICT);
    assert_int_equal(u->server_error, 10071);
    kt_rec *g = kt_get_entry(ctx, ctx->bucket, "missing");
    kt_assert_status(g, KVW_ENOTFOUND);
}

static void test_delete_with_version(void **state)
{
    kt_ctx *ctx = open_default(state, "dwv");
    kt_rec *p1 = kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_rec *p2 = kt_put_s(ctx, ctx->bucket, "k", "v2");
    assert_write_ok(p2, KVW_OP_PUT, "k");

    kt_rec *stale = kt_delete_v(ctx, ctx->bucket, "k", p1->version);
    kt_assert_status(stale, KVW_ECONFLICT);
    assert_int_equal(stale->op, KVW_OP_DELETE_WITH_VERSION);
    assert_int_equal(stale->server_error, 10071);
    assert_same_version(stale->version, p2->version);
    kt_rec *g0 = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g0, KVW_OK);
    assert_value_s(g0, "v2");

    kt_rec *t = kt_delete_v(ctx, ctx->bucket, "k", p2->version);
    assert_write_ok(t, KVW_OP_DELETE_WITH_VERSION, "k");
    assert_true(kt_rev(t->version) > kt_rev(p2->version));

    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_PUT);
    assert_int_equal(e->value_len, 0);
    assert_false(e->value_was_null);
    assert_same_version(e->version, t->version);

    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_ENOTFOUND);
    assert_same_version(g->version, t->version);

    /* The stream's view: an empty PUT, not a DEL marker. */
    kvStore *kv = kv_of(ctx->bucket_name);
    kvEntry *ne = NULL;
    assert_int_equal(kvStore_Get(&ne, kv, "k"), NATS_OK);
    assert_int_equal(kvEntry_Operation(ne), kvOp_Put);
    assert_int_equal(kvEntry_ValueLen(ne), 0);
    assert_int_equal(kvEntry_Revision(ne), kt_rev(t->version));
    kvEntry_Destroy(ne);
    kvStore_Destroy(kv);

    /* A writer still holding the old version now conflicts. */
    kt_rec *late = kt_update_s(ctx, ctx->bucket, "k", "late", p2->version);
    kt_assert_status(late, KVW_ECONFLICT);
}

static void test_delete_with_version_missing_key(void **state)
{
    kt_ctx *ctx = open_default(state, "dwvmiss");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "other", "x");
    kt_rec *d = kt_delete_v(ctx, ctx->bucket, "missing", p->version);
    kt_assert_status(d, KVW_ECONFLICT);
    kt_rec *d1 = kt_delete_v(ctx, ctx->bucket, "missing", kvw_version_from_u64(1));
    kt_assert_status(d1, KVW_ECONFLICT);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "missing");
    kt_assert_status(e, KVW_ENOTFOUND);
}

static void test_update_revives_tombstone(void **state)
{
    kt_ctx *ctx = open_default(state, "revive");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_rec *t = kt_delete_v(ctx, ctx->bucket, "k", p->version);
    assert_write_ok(t, KVW_OP_DELETE_WITH_VERSION, "k");
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "k", "alive", e->version);
    assert_write_ok(u, KVW_OP_UPDATE, "k");
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_value_s(g, "alive");
    assert_same_version(g->version, u->version);
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "again");
    kt_assert_status(c, KVW_EEXIST);
}

static void test_delete_marker(void **state)
{
    kt_ctx *ctx = open_default(state, "del");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_rec *d = kt_delete(ctx, ctx->bucket, "k");
    assert_write_ok(d, KVW_OP_DELETE, "k");
    assert_true(kt_rev(d->version) > kt_rev(p->version));

    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_ENOTFOUND);
    assert_same_version(g->version, d->version);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_DELETE);
    assert_int_equal(e->value_len, 0);
    assert_same_version(e->version, d->version);

    /* Best effort: deleting a key that never existed succeeds. */
    kt_rec *d2 = kt_delete(ctx, ctx->bucket, "never");
    assert_write_ok(d2, KVW_OP_DELETE, "never");
}

static void test_purge_drops_history(void **state)
{
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 10;
    kt_open(ctx, NULL, "purge", &bo);

    kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_put_s(ctx, ctx->bucket, "k", "v2");
    kt_rec *p3 = kt_put_s(ctx, ctx->bucket, "k", "v3");
    kt_put_s(ctx, ctx->bucket, "keep", "x");

    kvStore *kv = kv_of(ctx->bucket_name);
    kvEntryList list = {0};
    assert_int_equal(kvStore_History(&list, kv, "k", NULL), NATS_OK);
    assert_int_equal(list.Count, 3);
    assert_int_equal(kvEntry_Revision(list.Entries[2]), kt_rev(p3->version));
    kvEntryList_Destroy(&list);

    kt_rec *pu = kt_purge(ctx, ctx->bucket, "k");
    assert_write_ok(pu, KVW_OP_PURGE, "k");

    memset(&list, 0, sizeof list);
    assert_int_equal(kvStore_History(&list, kv, "k", NULL), NATS_OK);
    assert_int_equal(list.Count, 1);
    assert_int_equal(kvEntry_Operation(list.Entries[0]), kvOp_Purge);
    assert_int_equal(kvEntry_Revision(list.Entries[0]), kt_rev(pu->version));
    kvEntryList_Destroy(&list);

    /* Other keys keep their data. */
    kvEntry *ne = NULL;
    assert_int_equal(kvStore_Get(&ne, kv, "keep"), NATS_OK);
    kvEntry_Destroy(ne);
    kvStore_Destroy(kv);

    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_ENOTFOUND);
    assert_same_version(g->version, pu->version);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_PURGE);
    assert_same_version(e->version, pu->version);
}

static void test_get_treats_empty_value_as_absent(void **state)
{
    kt_ctx *ctx = open_default(state, "empty");
    kt_rec *p = kt_put(ctx, ctx->bucket, "k", NULL, 0);
    assert_write_ok(p, KVW_OP_PUT, "k");
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_ENOTFOUND);
    assert_false(g->value_was_null);
    kt_rec *e = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e, KVW_OK);
    assert_int_equal(e->entry_op, KVW_ENTRY_PUT);
    assert_int_equal(e->value_len, 0);
    assert_false(e->value_was_null);
    assert_same_version(e->version, p->version);
    /* "" (non-NULL, length 0) is the same thing. */
    kt_rec *p2 = kt_put_s(ctx, ctx->bucket, "k2", "");
    assert_write_ok(p2, KVW_OP_PUT, "k2");
    kt_rec *g2 = kt_get(ctx, ctx->bucket, "k2");
    kt_assert_status(g2, KVW_ENOTFOUND);
}

static void test_versions_are_stream_sequences(void **state)
{
    kt_ctx *ctx = open_default(state, "seq");
    kt_rec *r[10];
    int n = 0;
    r[n++] = kt_put_s(ctx, ctx->bucket, "a", "a1");                   /* 1 */
    r[n++] = kt_put_s(ctx, ctx->bucket, "b", "b1");                   /* 2 */
    r[n++] = kt_create_s(ctx, ctx->bucket, "c", "c1");                /* 3 */
    r[n++] = kt_update_s(ctx, ctx->bucket, "a", "a2", r[0]->version); /* 4 */
    r[n++] = kt_delete(ctx, ctx->bucket, "b");                        /* 5 */
    r[n++] = kt_delete_v(ctx, ctx->bucket, "c", r[2]->version);       /* 6 */
    r[n++] = kt_purge(ctx, ctx->bucket, "a");                         /* 7 */
    r[n++] = kt_create_s(ctx, ctx->bucket, "b", "b2");                /* 8: over the DEL marker */
    r[n++] = kt_update_s(ctx, ctx->bucket, "c", "c2", r[5]->version); /* 9: over the tombstone */
    r[n++] = kt_put_s(ctx, ctx->bucket, "d", "d1");                   /* 10 */
    for (int i = 0; i < n; i++) {
        kt_assert_status(r[i], KVW_OK);
        /* One writer on a fresh bucket: every write takes the next sequence. */
        assert_int_equal(kt_rev(r[i]->version), (uint64_t)(i + 1));
    }

    kvStore *kv = kv_of(ctx->bucket_name);
    const char *live[] = {"b", "c", "d"};
    const int live_idx[] = {7, 8, 9};
    for (int i = 0; i < 3; i++) {
        kvEntry *e = NULL;
        assert_int_equal(kvStore_Get(&e, kv, live[i]), NATS_OK);
        assert_int_equal(kvEntry_Revision(e), kt_rev(r[live_idx[i]]->version));
        kvEntry_Destroy(e);
    }
    kvOperation op;
    assert_int_equal(nats_last_revision(kv, "a", &op), kt_rev(r[6]->version));
    assert_int_equal(op, kvOp_Purge);
    kvStore_Destroy(kv);

    /* Reads report the same versions. */
    kt_rec *g = kt_get(ctx, ctx->bucket, "c");
    assert_same_version(g->version, r[8]->version);
    kt_rec *ga = kt_get_entry(ctx, ctx->bucket, "a");
    assert_same_version(ga->version, r[6]->version);
}

static void test_bad_version_refused_before_io(void **state)
{
    kt_ctx *ctx = open_default(state, "badver");
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v1");
    assert_write_ok(p, KVW_OP_PUT, "k");

    kvw_version unknown = KVW_VERSION_UNKNOWN_INIT;
    kvw_version foreign = {3, {1, 2, 3}}; /* not a NATS revision */
    kt_rec *r[4];
    for (int i = 0; i < 4; i++)
        r[i] = kt_rec_new(ctx);
    assert_int_equal(kvw_update(ctx->bucket, "k", "x", 1, &unknown, kt_rec_cb, r[0]),
                     KVW_EBADVERSION);
    assert_int_equal(kvw_update(ctx->bucket, "k", "x", 1, &foreign, kt_rec_cb, r[1]),
                     KVW_EBADVERSION);
    assert_int_equal(kvw_delete_with_version(ctx->bucket, "k", &unknown, kt_rec_cb, r[2]),
                     KVW_EBADVERSION);
    assert_int_equal(kvw_delete_with_version(ctx->bucket, "k", &foreign, kt_rec_cb, r[3]),
                     KVW_EBADVERSION);

    /* Nothing reached the stream: the next write takes the next sequence. */
    kt_rec *p2 = kt_put_s(ctx, ctx->bucket, "k", "v2");
    assert_int_equal(kt_rev(p2->version), kt_rev(p->version) + 1);

    assert_int_equal(kvw_client_close(ctx->client), 0); /* waits for callbacks */
    for (int i = 0; i < 4; i++)
        assert_int_equal(kt_rec_calls(r[i]), 0);
}

static void test_version_tokens(void **state)
{
    (void)state;
    /* from/to u64 */
    kvw_version v = kvw_version_from_u64(42);
    assert_int_equal(v.len, 8);
    const uint8_t be42[8] = {0, 0, 0, 0, 0, 0, 0, 42};
    assert_memory_equal(v.bytes, be42, 8);
    for (int i = 8; i < KVW_VERSION_TOKEN_MAX; i++)
        assert_int_equal(v.bytes[i], 0);
    uint64_t out = 7;
    assert_int_equal(kvw_version_to_u64(&v, &out), 0);
    assert_int_equal(out, 42);

    kvw_version big = kvw_version_from_u64(UINT64_MAX);
    assert_int_equal(kvw_version_to_u64(&big, &out), 0);
    assert_true(out == UINT64_MAX);
    kvw_version mixed = kvw_version_from_u64(0x0102030405060708ULL);
    const uint8_t bem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(mixed.bytes, bem, 8);

    /* unknown */
    kvw_version zero = kvw_version_from_u64(0);
    kvw_version unk = KVW_VERSION_UNKNOWN_INIT;
    assert_true(kvw_version_is_unknown(&zero));
    assert_true(kvw_version_is_unknown(&unk));
    assert_true(kvw_version_is_unknown(NULL));
    assert_false(kvw_version_is_unknown(&v));
    out = 7;
    assert_int_equal(kvw_version_to_u64(&unk, &out), KVW_EBADVERSION);
    assert_int_equal(out, 0);
    kvw_version foreign = {3, {0xab, 0x01, 0xff}};
    out = 7;
    assert_int_equal(kvw_version_to_u64(&foreign, &out), KVW_EBADVERSION);
    assert_int_equal(out, 0);
    assert_false(kvw_version_is_unknown(&foreign));

    /* equality */
    kvw_version v2 = kvw_version_from_u64(42), v3 = kvw_version_from_u64(43);
    assert_true(kvw_version_equal(&v, &v2));
    assert_int_equal(memcmp(&v, &v2, sizeof v), 0);
    assert_false(kvw_version_equal(&v, &v3));
    assert_true(kvw_version_equal(&unk, &zero));
    assert_false(kvw_version_equal(&unk, &v));
    assert_false(kvw_version_equal(&v, &foreign));
    assert_false(kvw_version_equal(NULL, &v));
    assert_false(kvw_version_equal(&v, NULL));
    assert_false(kvw_version_equal(NULL, NULL));
    kvw_version copy = v; /* copyable by value */
    assert_true(kvw_version_equal(&copy, &v));

    /* format */
    char buf[KVW_VERSION_STRLEN];
    assert_int_equal(kvw_version_format(&v, buf, sizeof buf), 2);
    assert_string_equal(buf, "42");
    assert_int_equal(kvw_version_format(&big, buf, sizeof buf), 20);
    assert_string_equal(buf, "18446744073709551615");
    assert_int_equal(kvw_version_format(&unk, buf, sizeof buf), 7);
    assert_string_equal(buf, "unknown");
    assert_int_equal(kvw_version_format(&foreign, buf, sizeof buf), 8);
    assert_string_equal(buf, "x:ab01ff");
    kvw_version full = {KVW_VERSION_TOKEN_MAX, {0}};
    memset(full.bytes, 0xee, KVW_VERSION_TOKEN_MAX);
    int n = kvw_version_format(&full, buf, sizeof buf);
    assert_int_equal(n, 2 + 2 * KVW_VERSION_TOKEN_MAX);
    assert_true((size_t)n < sizeof buf);
    char small[3];
    assert_int_equal(kvw_version_format(&v, small, 3), 2); /* "42" + NUL fits */
    assert_int_equal(kvw_version_format(&v, small, 2), KVW_EINVAL);
    assert_int_equal(kvw_version_format(&v, small, 0), KVW_EINVAL);

    /* parse round-trips */
    const kvw_version all[] = {v, big, mixed, unk, foreign, full, kvw_version_from_u64(1)};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char text[KVW_VERSION_STRLEN];
        assert_true(kvw_version_format(&all[i], text, sizeof text) > 0);
        kvw_version back;
        memset(&back, 0x5a, sizeof back);
        if (kvw_version_parse(&back, text) != 0)
            print_error("parse(\"%s\") failed\n", text);
        assert_int_equal(kvw_version_parse(&back, text), 0);
        assert_true(kvw_version_equal(&back, &all[i]));
        assert_int_equal(memcmp(&back, &all[i], sizeof back), 0);
    }
    kvw_version p;
    assert_int_equal(kvw_version_parse(&p, "1"), 0);
    assert_int_equal(kvw_version_to_u64(&p, &out), 0);
    assert_int_equal(out, 1);

    /* parse rejects junk, leaving the unknown token */
    const char *junk[] = {"", " ", "abc", "-1", "+1", "42x", " 42", "42 ", "4 2", "0x2a", "1e3",
                          "18446744073709551616", "99999999999999999999999", "x:", "x:zz",
                          "x:abc", "X:ab", "x:0g", "unknownx", "Unknown",
                          "x:00112233445566778899aabbccddeeff" /* 16 bytes > max */};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        kvw_version j = kvw_version_from_u64(5);
        int rc = kvw_version_parse(&j, junk[i]);
        if (rc != KVW_EBADVERSION)
            print_error("parse(\"%s\") returned %s\n", junk[i], kvw_err_name(rc));
        assert_int_equal(rc, KVW_EBADVERSION);
        assert_true(kvw_version_is_unknown(&j));
        assert_int_equal(memcmp(&j, &unk, sizeof j), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_tokens),
        cmocka_unit_test_setup_teardown(test_put_get_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_charset_and_max_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_missing_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_new_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_conflicts_on_live_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_after_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_after_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_conflicts_after_delete_with_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_racing_creates_after_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_missing_key_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_with_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_with_version_missing_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_revives_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_drops_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_treats_empty_value_as_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_are_stream_sequences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_version_refused_before_io, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("conformance", tests, group_setup, group_teardown);
}
