/*
 * A program written and compiled against the 0.1 header (tests/abi/v0_1/,
 * copied from the 0.1 release unchanged) runs against this library: its
 * version-1 options structs are filled and read only as far as version 1
 * goes, and its ops work on a real server. Needs $NATS_SERVER_BIN.
 */
#include <stdio.h>
#include <string.h>

#include <kvw/kvw.h> /* the 0.1 header: -I tests/abi/v0_1 comes first */

#include "check.h"
#include "support/natsserver.h"

#if KVW_VERSION_MINOR != 1 || KVW_BUCKET_OPTIONS_VERSION != 1
#error "compat_v0_1.c must be built against the 0.1 header"
#endif

static int calls;
static kvw_result seen;
static char seen_value[64];

static void on_result(const kvw_result *r, void *user_data)
{
    (void)user_data;
    calls++;
    seen = *r; /* only the 0.1 fields: a 0.1 program knows no more */
    seen.message = NULL;
    seen.key = NULL;
    seen.value = NULL;
    if (r->value_len < sizeof seen_value) memcpy(seen_value, r->value, r->value_len);
}

static int run_one(kvw_client *c, int rc)
{
    int want = calls + 1;
    if (rc != 0) return rc;
    while (calls < want)
        if (kvw_client_poll(c, 5000) < 0) return -100;
    return seen.status;
}

int main(void)
{
    /* Room after each struct, pre-filled, to see whether the library writes
     * or reads past a version-1 struct (where version 2 has its fields). */
    struct {
        kvw_bucket_options o;
        unsigned char after[32];
    } b;
    struct {
        kvw_client_options o;
        unsigned char after[32];
    } co;
    size_t i;
    ts_server *server;
    kvw_client *client = NULL;
    kvw_bucket *bucket = NULL;

    memset(&b, 0xa5, sizeof b);
    memset(&co, 0xa5, sizeof co);
    CHECK(kvw_bucket_options_init(&b.o) == 0, "kvw_bucket_options_init failed");
    CHECK(kvw_client_options_init(&co.o) == 0, "kvw_client_options_init failed");
    CHECK(b.o.version == 1 && co.o.version == 1, "versions %u / %u, expected 1", b.o.version, co.o.version);
    for (i = 0; i < sizeof b.after; i++)
        CHECK(b.after[i] == 0xa5 && co.after[i] == 0xa5, "init wrote past the 0.1 struct at +%zu", i);
    CHECK(b.o.history == 1 && b.o.replicas == 1 && co.o.op_timeout_ms == 5000, "0.1 defaults changed");

    server = ts_server_spawn(NULL);
    if (server == NULL) return 1;
    co.o.servers = ts_server_url(server);
    co.o.delivery = KVW_DELIVERY_POLL;
    CHECK(kvw_client_open(&client, &co.o) == 0, "kvw_client_open with a 0.1 struct failed");
    /* The garbage after the struct is where allow_ttl would be: if the
     * library read it, 0xa5a5a5a5 would make the options invalid. */
    b.o.create_if_missing = 1;
    b.o.history = 3;
    CHECK(client != NULL && kvw_bucket_open(&bucket, client, "compat01", &b.o) == 0,
          "kvw_bucket_open with a 0.1 struct failed");
    if (bucket != NULL) {
        kvw_version v1, v2;
        CHECK(run_one(client, kvw_put(bucket, "k", "one", 3, on_result, NULL)) == KVW_OK, "put failed");
        v1 = seen.version;
        CHECK(run_one(client, kvw_update(bucket, "k", "two", 3, &v1, on_result, NULL)) == KVW_OK,
              "update failed");
        v2 = seen.version;
        CHECK(run_one(client, kvw_update(bucket, "k", "three", 5, &v1, on_result, NULL)) == KVW_ECONFLICT,
              "stale update is not KVW_ECONFLICT");
        CHECK(kvw_version_equal(&seen.version, &v2), "conflict does not report the current version");
        CHECK(run_one(client, kvw_get_entry(bucket, "k", on_result, NULL)) == KVW_OK, "get_entry failed");
        CHECK(seen.entry_op == KVW_ENTRY_PUT && seen.value_len == 3 && memcmp(seen_value, "two", 3) == 0,
              "get_entry read the wrong record");
        CHECK(run_one(client, kvw_create(bucket, "k", "x", 1, on_result, NULL)) == KVW_EEXIST,
              "create over a value is not KVW_EEXIST");
        CHECK(strcmp(kvw_err_name(-21), "KVW_ENOTSUP") == 0, "a 0.2 code has no name");
        CHECK(kvw_strerror(-99) != NULL, "unknown code has no text");
    }
    kvw_bucket_free(bucket);
    kvw_client_free(client);
    ts_server_free(server);
    return CHECK_STATUS();
}
