/*
 * A program using an installed kvw: puts one value into a bucket on the
 * nats-server named by argv[1] and reads it back. Built three ways by
 * run.sh: linked via pkg-config, linked via find_package(kvw), and with
 * -DKVW_CONSUMER_DLOPEN, where it links no kvw at all and finds every
 * function with dlsym() in libkvw.so.<major>, as an FFI would.
 * Usage: consumer NATS_URL NAME   (NAME names the bucket and the value)
 */
#define _GNU_SOURCE /* dladdr() */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kvw/kvw.h>
#ifndef KVW_CONSUMER_DLOPEN
#include <kvw/kvw_uv.h> /* compiles with the flags the package gives (kvw.pc adds libuv's) */
#endif

/* The functions used here: X(return type, name without kvw_, (parameter types)). */
#define CONSUMER_API(X) \
    X(int, library_check_version, (int)) \
    X(const char *, err_name, (int)) \
    X(int, client_options_init, (kvw_client_options *)) \
    X(int, client_open, (kvw_client **, const kvw_client_options *)) \
    X(void, client_free, (kvw_client *)) \
    X(int, bucket_options_init, (kvw_bucket_options *)) \
    X(int, bucket_open, (kvw_bucket **, kvw_client *, const char *, const kvw_bucket_options *)) \
    X(void, bucket_free, (kvw_bucket *)) \
    X(int, put, (kvw_bucket *, const char *, const void *, size_t, kvw_write_cb, void *)) \
    X(int, get, (kvw_bucket *, const char *, kvw_read_cb, void *)) \
    X(int, version_equal, (const kvw_version *, const kvw_version *)) \
    X(int, version_format, (const kvw_version *, char *, size_t))

#define FIELD(ret, name, params) ret(*name) params;
static struct {
    CONSUMER_API(FIELD)
} kvw;

#define STR_(x) #x
#define STR(x) STR_(x)

/* Fills `kvw`; returns the path of the libkvw in use, or NULL. */
static const char *load_kvw(void)
{
    Dl_info info;
#ifdef KVW_CONSUMER_DLOPEN
    const char *soname = "libkvw.so." STR(KVW_VERSION_MAJOR);
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen(%s): %s\n", soname, dlerror());
        return NULL;
    }
    void *sym;
    /* ISO C has no cast from void * to a function pointer; POSIX copies the bytes. */
#define LOAD(ret, name, params)                                               \
    if ((sym = dlsym(lib, "kvw_" #name)) == NULL) {                           \
        fprintf(stderr, "dlsym(kvw_%s): %s\n", #name, dlerror());            \
        return NULL;                                                          \
    }                                                                         \
    memcpy(&kvw.name, &sym, sizeof sym);
#else
    void *sym;
#define LOAD(ret, name, params) kvw.name = kvw_##name;
#endif
    CONSUMER_API(LOAD)
    memcpy(&sym, &kvw.put, sizeof sym);
    if (dladdr(sym, &info) == 0 || info.dli_fname == NULL)
        return NULL;
    return info.dli_fname;
}

/* One op's outcome, handed from kvw's delivery thread to main(). */
struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    int status;
    kvw_version version;
    char value[128];
    size_t value_len;
    char message[256];
};

static void waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->done_cond, NULL);
}

/* Write and read callback: copies what main() needs (the result is borrowed). */
static void on_result(const kvw_result *result, void *user_data)
{
    struct waiter *w = user_data;
    pthread_mutex_lock(&w->lock);
    w->status = result->status;
    w->version = result->version;
    snprintf(w->message, sizeof w->message, "%s", result->message);
    w->value_len = result->value_len < sizeof w->value ? result->value_len : sizeof w->value;
    if (w->value_len > 0)
        memcpy(w->value, result->value, w->value_len);
    w->done = 1;
    pthread_cond_signal(&w->done_cond);
    pthread_mutex_unlock(&w->lock);
}

/* Waits for the callback; 0 once it ran, -1 after 30 s (the contract broken). */
static int waiter_wait(struct waiter *w)
{
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&w->lock);
    while (!w->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->done_cond, &w->lock, &deadline);
    rc = w->done ? 0 : -1;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* Reports a failed step (with its KVW_E* code, if any) and gives the exit status. */
static int fail(const char *what, int code)
{
    if (code != 0)
        fprintf(stderr, "consumer: %s: %s (%d)\n", what, kvw.err_name(code), code);
    else
        fprintf(stderr, "consumer: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    kvw_client_options copts;
    kvw_bucket_options bopts;
    kvw_client *client = NULL;
    kvw_bucket *bucket = NULL;
    struct waiter put, get;
    char bucket_name[64], value[128], version_text[KVW_VERSION_STRLEN];
    const char *lib;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: %s NATS_URL NAME\n", argv[0]);
        return 2;
    }
    if ((lib = load_kvw()) == NULL)
        return fail("could not load libkvw", 0);
    if ((rc = kvw.library_check_version(KVW_VERSION_NUMBER)) != 0)
        return fail("library version does not serve this header", rc);
    snprintf(bucket_name, sizeof bucket_name, "consumer_%s", argv[2]);
    snprintf(value, sizeof value, "hello from the %s consumer", argv[2]);

    kvw.client_options_init(&copts);
    copts.servers = argv[1];
    copts.name = bucket_name;
    if ((rc = kvw.client_open(&client, &copts)) != 0)
        return fail("kvw_client_open", rc);
    kvw.bucket_options_init(&bopts);
    bopts.create_if_missing = 1;
    if ((rc = kvw.bucket_open(&bucket, client, bucket_name, &bopts)) != 0)
        return fail("kvw_bucket_open", rc);

    waiter_init(&put);
    if ((rc = kvw.put(bucket, "greeting", value, strlen(value), on_result, &put)) != 0)
        return fail("kvw_put submit", rc);
    if (waiter_wait(&put) != 0)
        return fail("kvw_put: no callback within 30 s", 0);
    if (put.status != KVW_OK)
        return fail(put.message, put.status);

    waiter_init(&get);
    if ((rc = kvw.get(bucket, "greeting", on_result, &get)) != 0)
        return fail("kvw_get submit", rc);
    if (waiter_wait(&get) != 0)
        return fail("kvw_get: no callback within 30 s", 0);
    if (get.status != KVW_OK)
        return fail(get.message, get.status);
    if (get.value_len != strlen(value) || memcmp(get.value, value, get.value_len) != 0) {
        fprintf(stderr, "consumer: read back \"%.*s\", wrote \"%s\"\n", (int)get.value_len,
                get.value, value);
        return 1;
    }
    if (!kvw.version_equal(&put.version, &get.version))
        return fail("the read's version is not the put's", 0);

    kvw.bucket_free(bucket);
    kvw.client_free(client);
    kvw.version_format(&put.version, version_text, sizeof version_text);
    printf("%s consumer: put and got \"%s\" at version %s using %s\n", argv[2], value,
           version_text, lib);
    return 0;
}
