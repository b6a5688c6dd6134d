/*
 * interop: what kvw writes is ordinary NATS KV data. nats.c's own KV API
 * (js_KeyValue, kvStore_Get, kvStore_History…) reads it back, and kvw reads
 * what kvStore_* wrote.
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

/* Per test: a kvw client + bucket, and a nats.c kvStore on the same bucket. */
typedef struct itest {
    kvStore *kv;
} itest;

static int setup(void **state)
{
    kt_ctx *ctx = kt_ctx_new(g_server);
    if (!ctx)
        return -1;
    ctx->extra = calloc(1, sizeof(itest));
    *state = ctx;
    return ctx->extra ? 0 : -1;
}

static int teardown(void **state)
{
    kt_ctx *ctx = *state;
    itest *it = ctx->extra;
    if (it && it->kv)
        kvStore_Destroy(it->kv);
    free(it);
    kt_ctx_free(ctx);
    return 0;
}

static kvStore *open_both(kt_ctx *ctx, const char *prefix, const kvw_bucket_options *bo)
{
    kt_open(ctx, NULL, prefix, bo);
    itest *it = ctx->extra;
    natsStatus s = js_KeyValue(&it->kv, g_nats.js, ctx->bucket_name);
    if (s != NATS_OK)
        print_error("js_KeyValue(%s): %s %s\n", ctx->bucket_name, natsStatus_GetText(s),
                    nats_GetLastError(NULL));
    assert_int_equal(s, NATS_OK);
    return it->kv;
}

static kvStore *open_both_history(kt_ctx *ctx, const char *prefix, int history)
{
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = history;
    return open_both(ctx, prefix, &bo);
}

/* The latest raw message on the key's subject, from the stream itself. */
static natsMsg *last_raw(kt_ctx *ctx, const char *key)
{
    char stream[128], subject[2048];
    snprintf(stream, sizeof stream, "KV_%s", ctx->bucket_name);
    snprintf(subject, sizeof subject, "$KV.%s.%s", ctx->bucket_name, key);
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetLastMsg(&m, g_nats.js, stream, subject, NULL, &jerr);
    if (s != NATS_OK)
        print_error("js_GetLastMsg(%s, %s): %s (js %d)\n", stream, subject, natsStatus_GetText(s),
                    (int)jerr);
    assert_int_equal(s, NATS_OK);
    return m;
}

static int header_count(natsMsg *m)
{
    const char **keys = NULL;
    int count = 0;
    natsStatus s = natsMsgHeader_Keys(m, &keys, &count);
    if (s == NATS_NOT_FOUND)
        return 0;
    assert_int_equal(s, NATS_OK);
    for (int i = 0; i < count; i++)
        print_message("  header %s\n", keys[i]);
    free((void *)keys);
    return count;
}

static void assert_header(natsMsg *m, const char *key, const char *want)
{
    const char *v = NULL;
    natsStatus s = natsMsgHeader_Get(m, key, &v);
    if (s != NATS_OK)
        print_error("header %s missing\n", key);
    assert_int_equal(s, NATS_OK);
    assert_non_null(v);
    assert_string_equal(v, want);
}

static void assert_no_header(natsMsg *m, const char *key)
{
    const char *v = NULL;
    assert_int_equal(natsMsgHeader_Get(m, key, &v), NATS_NOT_FOUND);
}

static void assert_nats_value(kvStore *kv, const char *key, const void *v, int n, uint64_t rev)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, key);
    if (s != NATS_OK)
        print_error("kvStore_Get(%s): %s\n", key, natsStatus_GetText(s));
    assert_int_equal(s, NATS_OK);
    assert_int_equal(kvEntry_Operation(e), kvOp_Put);
    assert_int_equal(kvEntry_ValueLen(e), n);
    if (n)
        assert_memory_equal(kvEntry_Value(e), v, (size_t)n);
    assert_int_equal(kvEntry_Revision(e), rev);
    assert_string_equal(kvEntry_Key(e), key);
    kvEntry_Destroy(e);
}

/* Last record of the key per kvStore_History. */
static void assert_nats_last(kvStore *kv, const char *key, kvOperation op, uint64_t rev,
                             int count)
{
    kvEntryList list = {0};
    natsStatus s = kvStore_History(&list, kv, key, NULL);
    assert_int_equal(s, NATS_OK);
    if (count > 0)
        assert_int_equal(list.Count, count);
    assert_true(list.Count > 0);
    kvEntry *last = list.Entries[list.Count - 1];
    assert_int_equal(kvEntry_Operation(last), op);
    assert_int_equal(kvEntry_Revision(last), rev);
    kvEntryList_Destroy(&list);
}

/* ------------------------------------------------------------ tests */

static void test_bucket_is_a_kv_bucket(void **state)
{
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    bo.history = 5;
    bo.max_age_ms = 60000;
    bo.max_bytes = 1 << 20;
    bo.max_value_size = 1024;
    bo.storage = KVW_STORAGE_MEMORY;
    kvStore *kv = open_both(ctx, "cfg", &bo);
    assert_string_equal(kvw_bucket_name(ctx->bucket), ctx->bucket_name);
    assert_int_equal(kvw_bucket_max_value_size(ctx->bucket), 1024);

    kvStatus *st = NULL;
    assert_int_equal(kvStore_Status(&st, kv), NATS_OK);
    assert_string_equal(kvStatus_Bucket(st), ctx->bucket_name);
    assert_int_equal(kvStatus_History(st), 5);
    assert_int_equal(kvStatus_Replicas(st), 1);
    kvStatus_Destroy(st);

    char stream[128], subj[160];
    snprintf(stream, sizeof stream, "KV_%s", ctx->bucket_name);
    snprintf(subj, sizeof subj, "$KV.%s.>", ctx->bucket_name);
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, g_nats.js, stream, NULL, NULL), NATS_OK);
    jsStreamConfig *c = si->Config;
    assert_int_equal(c->SubjectsLen, 1);
    assert_string_equal(c->Subjects[0], subj);
    assert_int_equal(c->MaxMsgsPerSubject, 5);
    assert_int_equal(c->MaxAge, 60000LL * 1000000LL);
    assert_int_equal(c->MaxBytes, 1 << 20);
    assert_int_equal(c->MaxMsgSize, 1024);
    assert_int_equal(c->Storage, js_MemoryStorage);
    assert_int_equal(c->Replicas, 1);
    assert_true(c->AllowRollup);
    assert_true(c->DenyDelete);
    assert_true(c->AllowDirect);
    assert_int_equal(c->Discard, js_DiscardNew);
    jsStreamInfo_Destroy(si);
}

static void test_default_bucket_config(void **state)
{
    kt_ctx *ctx = *state;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;
    open_both(ctx, "dflt", &bo);
    char stream[128];
    snprintf(stream, sizeof stream, "KV_%s", ctx->bucket_name);
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, g_nats.js, stream, NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->MaxMsgsPerSubject, 1);
    assert_int_equal(si->Config->Storage, js_FileStorage);
    assert_int_equal(si->Config->MaxAge, 0);
    assert_true(si->Config->AllowRollup);
    assert_true(si->Config->DenyDelete);
    assert_true(si->Config->AllowDirect);
    jsStreamInfo_Destroy(si);
}

static void test_kvw_opens_nats_created_bucket(void **state)
{
    kt_ctx *ctx = *state;
    char name[64];
    kt_unique_name(name, sizeof name, "natsmade");
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name;
    cfg.History = 3;
    kvStore *kv = NULL;
    assert_int_equal(js_CreateKeyValue(&kv, g_nats.js, &cfg), NATS_OK);
    itest *it = ctx->extra;
    it->kv = kv;
    uint64_t rev = 0;
    assert_int_equal(kvStore_PutString(&rev, kv, "pre", "existing"), NATS_OK);

    kvw_client_options o;
    kt_client_options(ctx, &o);
    assert_int_equal(kvw_client_open(&ctx->client, &o), 0);
    assert_int_equal(kvw_bucket_open(&ctx->bucket, ctx->client, name, NULL), 0);
    assert_string_equal(kvw_bucket_name(ctx->bucket), name);

    kt_rec *g = kt_get(ctx, ctx->bucket, "pre");
    kt_assert_status(g, KVW_OK);
    assert_int_equal(g->value_len, 8);
    assert_memory_equal(g->value, "existing", 8);
    assert_int_equal(kt_rev(g->version), rev);

    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "from-kvw");
    kt_assert_status(p, KVW_OK);
    assert_nats_value(kv, "k", "from-kvw", 8, kt_rev(p->version));
}

static void test_put_read_by_nats(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both(ctx, "put", NULL);
    const unsigned char bin[] = {0, 'x', 0xff, 0};
    kt_rec *p = kt_put(ctx, ctx->bucket, "a.b", bin, sizeof bin);
    kt_assert_status(p, KVW_OK);
    assert_nats_value(kv, "a.b", bin, sizeof bin, kt_rev(p->version));

    /* A plain put carries one header, its write id (Nats-Msg-Id: the stream
     * de-duplicates resends by it): no KV-Operation, nothing else. */
    natsMsg *m = last_raw(ctx, "a.b");
    assert_int_equal(natsMsg_GetDataLength(m), sizeof bin);
    assert_int_equal(header_count(m), 1);
    const char *id = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Msg-Id", &id), NATS_OK);
    print_message("write id: %s\n", id);
    assert_true(strlen(id) > 12 && strlen(id) <= 23); /* 12 random characters, a base-62 counter */
    char first_id[64];
    snprintf(first_id, sizeof first_id, "%s", id);
    natsMsg_Destroy(m);

    kt_rec *p2 = kt_put_s(ctx, ctx->bucket, "a.b", "two");
    assert_nats_value(kv, "a.b", "two", 3, kt_rev(p2->version));
    m = last_raw(ctx, "a.b");
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Msg-Id", &id), NATS_OK);
    assert_string_not_equal(id, first_id); /* one id per write */
    natsMsg_Destroy(m);

    /* With resends off, a put carries no header at all, as in kvw 0.1. */
    kvw_client_options o;
    kt_client_options(ctx, &o);
    o.resend_after_ms = KVW_RESEND_NEVER;
    kvw_client *plain = NULL;
    assert_int_equal(kvw_client_open(&plain, &o), 0);
    kvw_bucket *pb = NULL;
    assert_int_equal(kvw_bucket_open(&pb, plain, kvw_bucket_name(ctx->bucket), NULL), 0);
    kt_rec *p3 = kt_put_s(ctx, pb, "a.b", "three");
    kt_assert_status(p3, KVW_OK);
    assert_nats_value(kv, "a.b", "three", 5, kt_rev(p3->version));
    m = last_raw(ctx, "a.b");
    assert_int_equal(header_count(m), 0);
    natsMsg_Destroy(m);
    kvw_bucket_free(pb);
    kvw_client_free(plain);
}

static void test_create_update_read_by_nats(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "cu", 5);
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "k", "created");
    kt_assert_status(c, KVW_OK);
    assert_nats_value(kv, "k", "created", 7, kt_rev(c->version));
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "k", "updated", c->version);
    kt_assert_status(u, KVW_OK);
    assert_nats_value(kv, "k", "updated", 7, kt_rev(u->version));
    natsMsg *m = last_raw(ctx, "k");
    assert_no_header(m, "KV-Operation");
    natsMsg_Destroy(m);
    assert_nats_last(kv, "k", kvOp_Put, kt_rev(u->version), 2);
}

static void test_delete_read_by_nats(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "del", 5);
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v");
    kt_rec *d = kt_delete(ctx, ctx->bucket, "k");
    kt_assert_status(d, KVW_OK);

    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, kv, "k"), NATS_NOT_FOUND);
    assert_null(e);
    assert_nats_last(kv, "k", kvOp_Delete, kt_rev(d->version), 2);
    (void)p;

    natsMsg *m = last_raw(ctx, "k");
    assert_header(m, "KV-Operation", "DEL");
    assert_int_equal(natsMsg_GetDataLength(m), 0);
    assert_no_header(m, "Nats-Rollup");
    natsMsg_Destroy(m);

    /* kvStore_Keys leaves deleted keys out. */
    kvKeysList keys = {0};
    natsStatus s = kvStore_Keys(&keys, kv, NULL);
    assert_true(s == NATS_OK || s == NATS_NOT_FOUND);
    assert_int_equal(keys.Count, 0);
    kvKeysList_Destroy(&keys);
}

static void test_purge_read_by_nats(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "purge", 10);
    kt_put_s(ctx, ctx->bucket, "k", "v1");
    kt_put_s(ctx, ctx->bucket, "k", "v2");
    kt_rec *pu = kt_purge(ctx, ctx->bucket, "k");
    kt_assert_status(pu, KVW_OK);

    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, kv, "k"), NATS_NOT_FOUND);
    assert_nats_last(kv, "k", kvOp_Purge, kt_rev(pu->version), 1);

    natsMsg *m = last_raw(ctx, "k");
    assert_header(m, "KV-Operation", "PURGE");
    assert_header(m, "Nats-Rollup", "sub");
    assert_int_equal(natsMsg_GetDataLength(m), 0);
    natsMsg_Destroy(m);
}

static void test_delete_with_version_read_by_nats(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "dwv", 5);
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "v");
    kt_rec *t = kt_delete_v(ctx, ctx->bucket, "k", p->version);
    kt_assert_status(t, KVW_OK);
    /* A logical delete is an empty PUT: nats.c sees a live, empty value. */
    assert_nats_value(kv, "k", "", 0, kt_rev(t->version));
    natsMsg *m = last_raw(ctx, "k");
    assert_no_header(m, "KV-Operation");
    assert_int_equal(natsMsg_GetDataLength(m), 0);
    natsMsg_Destroy(m);
    /* ...so nats.c's create refuses it too. */
    uint64_t rev = 0;
    assert_int_not_equal(kvStore_CreateString(&rev, kv, "k", "nats"), NATS_OK);
}

static void test_kvw_reads_nats_writes(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "rd", 5);
    uint64_t r1 = 0, r2 = 0;
    assert_int_equal(kvStore_Put(&r1, kv, "k", "\0bin\0", 5), NATS_OK);
    kt_rec *g = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_int_equal(g->entry_op, KVW_ENTRY_PUT);
    assert_int_equal(g->value_len, 5);
    assert_memory_equal(g->value, "\0bin\0", 5);
    assert_int_equal(kt_rev(g->version), r1);

    assert_int_equal(kvStore_UpdateString(&r2, kv, "k", "upd", r1), NATS_OK);
    kt_rec *g2 = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g2, KVW_OK);
    assert_int_equal(g2->value_len, 3);
    assert_int_equal(kt_rev(g2->version), r2);

    assert_int_equal(kvStore_Delete(kv, "k"), NATS_OK);
    kt_rec *g3 = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g3, KVW_ENOTFOUND);
    kt_rec *e3 = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e3, KVW_OK);
    assert_int_equal(e3->entry_op, KVW_ENTRY_DELETE);
    assert_int_equal(kt_rev(e3->version), r2 + 1);

    assert_int_equal(kvStore_Purge(kv, "k", NULL), NATS_OK);
    kt_rec *e4 = kt_get_entry(ctx, ctx->bucket, "k");
    kt_assert_status(e4, KVW_OK);
    assert_int_equal(e4->entry_op, KVW_ENTRY_PURGE);
    assert_int_equal(kt_rev(e4->version), r2 + 2);
    kt_rec *g4 = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(g4, KVW_ENOTFOUND);

    /* An empty value written by nats.c is absent for get, a PUT for get_entry. */
    uint64_t r5 = 0;
    assert_int_equal(kvStore_Put(&r5, kv, "empty", "", 0), NATS_OK);
    kt_rec *g5 = kt_get(ctx, ctx->bucket, "empty");
    kt_assert_status(g5, KVW_ENOTFOUND);
    kt_rec *e5 = kt_get_entry(ctx, ctx->bucket, "empty");
    kt_assert_status(e5, KVW_OK);
    assert_int_equal(e5->entry_op, KVW_ENTRY_PUT);
    assert_int_equal(kt_rev(e5->version), r5);
}

static void test_cross_client_cas(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "cas", 5);
    /* nats.c updates with a version kvw returned... */
    kt_rec *p = kt_put_s(ctx, ctx->bucket, "k", "kvw1");
    uint64_t r = 0;
    assert_int_equal(kvStore_UpdateString(&r, kv, "k", "nats1", kt_rev(p->version)), NATS_OK);
    assert_int_equal(r, kt_rev(p->version) + 1);
    /* ...and kvw updates with a revision nats.c returned. */
    kt_rec *u = kt_update_s(ctx, ctx->bucket, "k", "kvw2", kvw_version_from_u64(r));
    kt_assert_status(u, KVW_OK);
    assert_nats_value(kv, "k", "kvw2", 4, kt_rev(u->version));
    /* A stale nats.c revision conflicts for kvw. */
    kt_rec *u2 = kt_update_s(ctx, ctx->bucket, "k", "kvw3", kvw_version_from_u64(r));
    kt_assert_status(u2, KVW_ECONFLICT);
    assert_int_equal(u2->server_error, 10071);
}

static void test_creates_across_clients_over_markers(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both_history(ctx, "xcreate", 5);
    uint64_t r = 0;

    /* nats.c creates over kvw's DEL and PURGE markers. */
    kt_put_s(ctx, ctx->bucket, "d", "v");
    kt_assert_status(kt_delete(ctx, ctx->bucket, "d"), KVW_OK);
    assert_int_equal(kvStore_CreateString(&r, kv, "d", "nats-created"), NATS_OK);
    assert_nats_value(kv, "d", "nats-created", 12, r);
    kt_put_s(ctx, ctx->bucket, "p", "v");
    kt_assert_status(kt_purge(ctx, ctx->bucket, "p"), KVW_OK);
    assert_int_equal(kvStore_CreateString(&r, kv, "p", "nats-created"), NATS_OK);

    /* kvw creates over nats.c's DEL and PURGE markers. */
    assert_int_equal(kvStore_PutString(NULL, kv, "nd", "v"), NATS_OK);
    assert_int_equal(kvStore_Delete(kv, "nd"), NATS_OK);
    kt_rec *c = kt_create_s(ctx, ctx->bucket, "nd", "kvw-created");
    kt_assert_status(c, KVW_OK);
    assert_nats_value(kv, "nd", "kvw-created", 11, kt_rev(c->version));
    assert_int_equal(kvStore_PutString(NULL, kv, "np", "v"), NATS_OK);
    assert_int_equal(kvStore_Purge(kv, "np", NULL), NATS_OK);
    kt_rec *c2 = kt_create_s(ctx, ctx->bucket, "np", "kvw-created");
    kt_assert_status(c2, KVW_OK);

    /* Both refuse a live key written by the other. */
    kt_rec *c3 = kt_create_s(ctx, ctx->bucket, "d", "again");
    kt_assert_status(c3, KVW_EEXIST);
    assert_int_not_equal(kvStore_CreateString(&r, kv, "nd", "again"), NATS_OK);
}

static void test_keys_listing(void **state)
{
    kt_ctx *ctx = *state;
    kvStore *kv = open_both(ctx, "keys", NULL);
    kt_put_s(ctx, ctx->bucket, "a", "1");
    kt_put_s(ctx, ctx->bucket, "b", "2");
    kt_put_s(ctx, ctx->bucket, "c.d", "3");
    kt_assert_status(kt_delete(ctx, ctx->bucket, "b"), KVW_OK);
    kt_put_s(ctx, ctx->bucket, "e", "5");
    kt_assert_status(kt_purge(ctx, ctx->bucket, "e"), KVW_OK);
    kvKeysList keys = {0};
    assert_int_equal(kvStore_Keys(&keys, kv, NULL), NATS_OK);
    assert_int_equal(keys.Count, 2);
    int seen_a = 0, seen_cd = 0;
    for (int i = 0; i < keys.Count; i++) {
        seen_a += strcmp(keys.Keys[i], "a") == 0;
        seen_cd += strcmp(keys.Keys[i], "c.d") == 0;
    }
    kvKeysList_Destroy(&keys);
    assert_int_equal(seen_a, 1);
    assert_int_equal(seen_cd, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bucket_is_a_kv_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_bucket_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kvw_opens_nats_created_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_read_by_nats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_update_read_by_nats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_read_by_nats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_read_by_nats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_with_version_read_by_nats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kvw_reads_nats_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_client_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creates_across_clients_over_markers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_listing, setup, teardown),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("interop", tests, group_setup, group_teardown);
}
