/*
 * Ruby: swig -ruby -I<repo>/include -I<repo>/bindings/common \
 *            -o <builddir>/kvw_native_wrap.c bindings/ruby/kvw_ruby.i
 * Compile the wrapper with bindings/common/kvw_binding.c into
 * kvw_native.so (extconf.rb / mkmf), link libkvw. Module: Kvw_native.
 */
%module kvw_native

/* Value bytes: String in (binary-safe, "\0" ok); kvw copies them before the
 * call returns. Out: SWIGCDATA -> binary String (see kvw.i). */
%apply (char *STRING, size_t LENGTH) { (const void *data, size_t len) }

/*
 * Blocking calls release the GVL (SWIG's Ruby module never does by itself).
 * kvwb_client_open / kvwb_bucket_open connect or ask the server; kvwb_wait
 * may wait for completions. Arguments are copied first: another Ruby thread
 * may change a String while the GVL is released. kvwb_wait's unblock
 * function is kvwb_wake (a pipe write), so Thread#raise/kill and Ctrl-C
 * interrupt it; the opens are bounded by the connect/op timeouts and have no
 * unblock function. Nothing here touches Ruby while the GVL is released.
 */
%{
#include "kvw_binding.h"
#include <ruby/thread.h>
#include <stdlib.h>
#include <string.h>

struct kvwb_rb_args {
    kvwb_client *client;
    kvwb_bucket *bucket;
    const kvwb_client_options *client_opts;
    const kvwb_bucket_options *bucket_opts;
    char *name;
    int timeout_ms;
    int64_t drain_ms;
    int rc;
};

static void *kvwb_rb_client_open_nogvl(void *p) {
    struct kvwb_rb_args *a = (struct kvwb_rb_args *)p;
    a->rc = kvwb_client_open(a->client, a->client_opts);
    return NULL;
}
static void *kvwb_rb_bucket_open_nogvl(void *p) {
    struct kvwb_rb_args *a = (struct kvwb_rb_args *)p;
    a->rc = kvwb_bucket_open(a->bucket, a->client, a->name, a->bucket_opts);
    return NULL;
}
static void *kvwb_rb_wait_nogvl(void *p) {
    struct kvwb_rb_args *a = (struct kvwb_rb_args *)p;
    a->rc = kvwb_wait(a->client, a->timeout_ms);
    return NULL;
}
static void *kvwb_rb_drain_nogvl(void *p) {
    struct kvwb_rb_args *a = (struct kvwb_rb_args *)p;
    a->rc = kvwb_client_drain(a->client, a->drain_ms);
    return NULL;
}
static void kvwb_rb_wake_ubf(void *p) {
    kvwb_wake((kvwb_client *)p);
}

static int kvwb_rb_client_open(kvwb_client *client, const kvwb_client_options *opts) {
    struct kvwb_rb_args a;
    memset(&a, 0, sizeof a);
    a.client = client;
    a.client_opts = opts;
    rb_thread_call_without_gvl(kvwb_rb_client_open_nogvl, &a, NULL, NULL);
    return a.rc;
}
static int kvwb_rb_bucket_open(kvwb_bucket *bucket, kvwb_client *client, const char *name,
                               const kvwb_bucket_options *opts) {
    struct kvwb_rb_args a;
    memset(&a, 0, sizeof a);
    if (name) {
        size_t n = strlen(name) + 1;
        if (!(a.name = (char *)malloc(n)))
            return KVW_ENOMEM;
        memcpy(a.name, name, n);
    }
    a.bucket = bucket;
    a.client = client;
    a.bucket_opts = opts;
    rb_thread_call_without_gvl(kvwb_rb_bucket_open_nogvl, &a, NULL, NULL);
    free(a.name);
    return a.rc;
}
static int kvwb_rb_wait(kvwb_client *client, int timeout_ms) {
    struct kvwb_rb_args a;
    if (timeout_ms == 0 || !client)
        return kvwb_wait(client, 0); /* no wait: keep the GVL */
    memset(&a, 0, sizeof a);
    a.client = client;
    a.timeout_ms = timeout_ms;
    rb_thread_call_without_gvl(kvwb_rb_wait_nogvl, &a, kvwb_rb_wake_ubf, client);
    return a.rc;
}
static int kvwb_rb_client_drain(kvwb_client *client, int64_t timeout_ms) {
    struct kvwb_rb_args a;
    memset(&a, 0, sizeof a);
    a.client = client;
    a.drain_ms = timeout_ms;
    rb_thread_call_without_gvl(kvwb_rb_drain_nogvl, &a, NULL, NULL); /* bounded by timeout_ms */
    return a.rc;
}
%}

/* Ruby class names must be constants. */
%rename(ClientOptions) kvwb_client_options;
%rename(BucketOptions) kvwb_bucket_options;
%rename(Client) kvwb_client;
%rename(Bucket) kvwb_bucket;
%rename(Completion) kvwb_completion;
%rename(Call) kvwb_call; /* blocking calls: not used by the Ruby layer (kvw_ruby.i waits only in kvwb_wait) */
%rename(Txn) kvwb_txn;

/* Same Ruby names as the other languages, GVL-releasing implementations. */
%ignore kvwb_client_open;
%ignore kvwb_bucket_open;
%ignore kvwb_wait;
%ignore kvwb_client_drain;
%rename(kvwb_client_drain) kvwb_rb_client_drain;
%rename(kvwb_client_open) kvwb_rb_client_open;
%rename(kvwb_bucket_open) kvwb_rb_bucket_open;
%rename(kvwb_wait) kvwb_rb_wait;
%include "../kvw.i"

int kvwb_rb_client_open(kvwb_client *client, const kvwb_client_options *opts);
int kvwb_rb_bucket_open(kvwb_bucket *bucket, kvwb_client *client, const char *name,
                        const kvwb_bucket_options *opts);
int kvwb_rb_wait(kvwb_client *client, int timeout_ms);
int kvwb_rb_client_drain(kvwb_client *client, int64_t timeout_ms);
