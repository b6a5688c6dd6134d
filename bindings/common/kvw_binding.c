/*
 * kvw binding shim: see kvw_binding.h and bindings/DESIGN.md.
 *
 * Shared state lives in struct kvwb_client and is reference counted under
 * its mutex: the handle, each open bucket, each accepted op and each running
 * kvwb_wait hold one reference. The kvw client is freed with the last one,
 * so it always outlives its buckets and every callback that can touch the
 * queue.
 *
 * The queue is a ring of record pointers. Submit reserves a slot for its
 * future record (capacity >= queued + in flight), so the callback never has
 * to allocate queue space and cannot lose a completion. If copying a result
 * runs out of memory, the op's pre-allocated context becomes a reduced record
 * instead, so exactly-once delivery holds even then.
 */
#define _POSIX_C_SOURCE 200809L

#include "kvw_binding.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- options */

enum {
    S_SERVERS, S_NAME, S_USER, S_PASSWORD, S_TOKEN, S_CREDS, S_TLS_CA, S_TLS_CERT,
    S_TLS_KEY, S_COUNT
};

struct kvwb_client_options {
    kvw_client_options o; /* string fields point into s[] */
    char *s[S_COUNT];
};

struct kvwb_bucket_options {
    kvw_bucket_options o;
};

kvwb_client_options *kvwb_client_options_new(void)
{
    kvwb_client_options *opts = (kvwb_client_options *)calloc(1, sizeof *opts);
    if (opts && kvw_client_options_init(&opts->o) != 0) {
        free(opts);
        return NULL;
    }
    return opts;
}

void kvwb_client_options_free(kvwb_client_options *opts)
{
    int i;
    if (!opts)
        return;
    for (i = 0; i < S_COUNT; i++)
        free(opts->s[i]);
    free(opts);
}

static int set_string(kvwb_client_options *opts, int slot, const char **field,
                      const char *value)
{
    char *copy = NULL;
    if (value && *value) {
        size_t n = strlen(value) + 1;
        copy = (char *)malloc(n);
        if (!copy)
            return KVW_ENOMEM;
        memcpy(copy, value, n);
    }
    free(opts->s[slot]);
    opts->s[slot] = copy;
    *field = copy;
    return 0;
}

#define STRING_SETTER(NAME, SLOT)                                                      \
    int kvwb_client_options_set_##NAME(kvwb_client_options *opts, const char *value)   \
    {                                                                                  \
        if (!opts)                                                                     \
            return KVW_EINVAL;                                                         \
        return set_string(opts, SLOT, &opts->o.NAME, value);                           \
    }

STRING_SETTER(servers, S_SERVERS)
STRING_SETTER(name, S_NAME)
STRING_SETTER(user, S_USER)
STRING_SETTER(password, S_PASSWORD)
STRING_SETTER(token, S_TOKEN)
STRING_SETTER(credentials_file, S_CREDS)
STRING_SETTER(tls_ca_file, S_TLS_CA)
STRING_SETTER(tls_cert_file, S_TLS_CERT)
STRING_SETTER(tls_key_file, S_TLS_KEY)

/* Plain assignment; kvw_client_open / kvw_bucket_open validate the values. */
#define VALUE_SETTER(KIND, NAME, TYPE)                                                 \
    int kvwb_##KIND##_options_set_##NAME(kvwb_##KIND##_options *opts, TYPE value)      \
    {                                                                                  \
        if (!opts)                                                                     \
            return KVW_EINVAL;                                                         \
        opts->o.NAME = value;                                                          \
        return 0;                                                                      \
    }

VALUE_SETTER(client, tls_required, int)
VALUE_SETTER(client, connect_timeout_ms, int64_t)
VALUE_SETTER(client, op_timeout_ms, int64_t)
VALUE_SETTER(client, max_reconnect, int)
VALUE_SETTER(client, reconnect_wait_ms, int64_t)
VALUE_SETTER(client, resend_after_ms, int64_t)

int kvwb_client_options_set_max_inflight(kvwb_client_options *opts, int64_t value)
{
    if (!opts || value < 0 || value > (int64_t)UINT32_MAX)
        return KVW_EINVAL;
    opts->o.max_inflight = (uint32_t)value;
    return 0;
}

kvwb_bucket_options *kvwb_bucket_options_new(void)
{
    kvwb_bucket_options *opts = (kvwb_bucket_options *)calloc(1, sizeof *opts);
    if (opts && kvw_bucket_options_init(&opts->o) != 0) {
        free(opts);
        return NULL;
    }
    return opts;
}

void kvwb_bucket_options_free(kvwb_bucket_options *opts)
{
    free(opts);
}

VALUE_SETTER(bucket, create_if_missing, int)
VALUE_SETTER(bucket, history, int)
VALUE_SETTER(bucket, max_age_ms, int64_t)
VALUE_SETTER(bucket, max_bytes, int64_t)
VALUE_SETTER(bucket, replicas, int)
VALUE_SETTER(bucket, allow_ttl, int)
VALUE_SETTER(bucket, limit_marker_ttl_ms, int64_t)
VALUE_SETTER(bucket, duplicate_window_ms, int64_t)
VALUE_SETTER(bucket, allow_atomic, int)
VALUE_SETTER(bucket, allow_batched, int)
VALUE_SETTER(bucket, bulk, int)

int kvwb_bucket_options_set_max_value_size(kvwb_bucket_options *opts, int64_t value)
{
    if (!opts || value < 0 || value > INT32_MAX)
        return KVW_EINVAL;
    opts->o.max_value_size = (int32_t)value;
    return 0;
}

int kvwb_bucket_options_set_storage(kvwb_bucket_options *opts, int value)
{
    if (!opts || (value != KVW_STORAGE_FILE && value != KVW_STORAGE_MEMORY))
        return KVW_EINVAL;
    opts->o.storage = (kvw_storage)value;
    return 0;
}

int kvwb_bucket_options_set_read_mode(kvwb_bucket_options *opts, int value)
{
    if (!opts || (value != KVW_READ_CHECKED && value != KVW_READ_DIRECT && value != KVW_READ_LEADER))
        return KVW_EINVAL;
    opts->o.read_mode = (kvw_read_mode)value;
    return 0;
}

/* ------------------------------------------------------------- clients */

enum { ST_NEW, ST_OPENING, ST_OPEN };

struct kvwb_client {
    pthread_mutex_t mu;
    int refs;
    int state;
    int closed;     /* kvwb_client_close began: submits and opens refuse */
    int close_done; /* ...and returned: every pending op's record is queued */
    kvw_client *kvw;
    int kvw_fd;
    int wake[2]; /* pipe: [0] read end (kvwb_wake_fd), [1] write end */
    kvwb_completion **ring;
    size_t cap, head, count; /* queued records */
    size_t inflight;         /* accepted ops whose record is not queued yet */
};

struct kvwb_bucket {
    kvw_bucket *kvw;
    kvwb_client *core;
};

/* The callback's user_data. `rec` comes first so that, as a fallback, the
 * context itself can be queued as a record and released with free(). */
struct op_ctx {
    kvwb_completion rec;
    kvwb_client *core;
};

static void lock(kvwb_client *c) { pthread_mutex_lock(&c->mu); }
static void unlock(kvwb_client *c) { pthread_mutex_unlock(&c->mu); }

static void drop_queue_locked(kvwb_client *c)
{
    while (c->count) {
        free(c->ring[c->head]);
        c->head = (c->head + 1) % c->cap;
        c->count--;
    }
}

static void core_unref(kvwb_client *c)
{
    int last;
    lock(c);
    last = --c->refs == 0;
    unlock(c);
    if (!last)
        return;
    /* Nothing else can reach c now: no bucket, no op, no waiter, no handle. */
    kvw_client_free(c->kvw); /* NULL ok; already closed */
    drop_queue_locked(c);
    free(c->ring);
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

kvwb_client *kvwb_client_new(void)
{
    kvwb_client *c = (kvwb_client *)calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pipe(c->wake) != 0) {
        free(c);
        return NULL;
    }
    if (set_flags(c->wake[0]) != 0 || set_flags(c->wake[1]) != 0 ||
        pthread_mutex_init(&c->mu, NULL) != 0) {
        close(c->wake[0]);
        close(c->wake[1]);
        free(c);
        return NULL;
    }
    c->refs = 1;
    c->kvw_fd = -1;
    return c;
}

static void wake_write(kvwb_client *c)
{
    char b = 1;
    ssize_t n;
    do {
        n = write(c->wake[1], &b, 1);
    } while (n < 0 && errno == EINTR); /* EAGAIN: pipe full, already readable */
}

static void wake_drain(kvwb_client *c)
{
    char buf[64];
    int closed;
    for (;;) {
        ssize_t n = read(c->wake[0], buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        break; /* EAGAIN: empty */
    }
    /* Stay readable forever once closed, even if we raced with the close. */
    lock(c);
    closed = c->close_done;
    unlock(c);
    if (closed)
        wake_write(c);
}

int kvwb_client_open(kvwb_client *c, const kvwb_client_options *opts)
{
    kvw_client_options o;
    kvw_client *kvw = NULL;
    int rc, fd = -1, closed;

    if (!c)
        return KVW_EINVAL;
    lock(c);
    if (c->state != ST_NEW || c->closed) {
        rc = c->closed ? KVW_ECLOSED : KVW_EINVAL;
        unlock(c);
        return rc;
    }
    c->state = ST_OPENING;
    unlock(c);

    if (opts)
        o = opts->o;
    else
        kvw_client_options_init(&o);
    o.delivery = KVW_DELIVERY_POLL;
    o.uv_loop = NULL;
    rc = kvw_client_open(&kvw, &o);
    if (rc == 0) {
        fd = kvw_client_fd(kvw);
        if (fd < 0) {
            kvw_client_free(kvw);
            kvw = NULL;
            rc = fd;
        }
    }

    lock(c);
    c->state = rc == 0 ? ST_OPEN : ST_NEW;
    c->kvw = kvw;
    c->kvw_fd = fd;
    closed = c->closed;
    unlock(c);
    if (rc == 0 && closed) /* closed while connecting */
        kvw_client_close(kvw);
    return rc;
}

int kvwb_client_close(kvwb_client *c)
{
    kvw_client *kvw;
    if (!c)
        return KVW_EINVAL;
    lock(c);
    if (c->closed) {
        unlock(c);
        return 0;
    }
    c->closed = 1;
    kvw = c->state == ST_OPEN ? c->kvw : NULL;
    unlock(c);
    if (kvw)
        kvw_client_close(kvw); /* POLL mode: cancelled ops' callbacks run here */
    lock(c);
    c->close_done = 1;
    unlock(c);
    wake_write(c);
    return 0;
}

int kvwb_client_drain(kvwb_client *c, int64_t timeout_ms)
{
    kvw_client *kvw;
    int rc = 0;
    if (!c || timeout_ms < 0)
        return KVW_EINVAL;
    lock(c);
    if (c->closed) {
        unlock(c);
        return 0;
    }
    c->closed = 1;
    kvw = c->state == ST_OPEN ? c->kvw : NULL;
    unlock(c);
    if (kvw)
        rc = kvw_client_drain(kvw, timeout_ms); /* then closes: as kvwb_client_close */
    lock(c);
    c->close_done = 1;
    unlock(c);
    wake_write(c);
    return rc;
}

void kvwb_client_free(kvwb_client *c)
{
    if (!c)
        return;
    kvwb_client_close(c);
    lock(c);
    drop_queue_locked(c);
    unlock(c);
    core_unref(c);
}

/* Waits until one of the fds is readable or the timeout passes (-1: never).
 * Restarts after signals (Go preempts goroutines with SIGURG). */
static void wait_fds(int kvw_fd, int wake_fd, int timeout_ms)
{
    struct pollfd p[2];
    struct timespec start, now;
    int left = timeout_ms, rc;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        p[0].fd = kvw_fd;
        p[0].events = POLLIN;
        p[1].fd = wake_fd;
        p[1].events = POLLIN;
        p[0].revents = p[1].revents = 0;
        rc = poll(p, 2, left);
        if (rc >= 0 || errno != EINTR)
            return;
        if (timeout_ms >= 0) {
            long long spent;
            clock_gettime(CLOCK_MONOTONIC, &now);
            spent = (long long)(now.tv_sec - start.tv_sec) * 1000 +
                    (now.tv_nsec - start.tv_nsec) / 1000000;
            if (spent >= timeout_ms)
                return;
            left = (int)(timeout_ms - spent);
        }
    }
}

int kvwb_wait(kvwb_client *c, int timeout_ms)
{
    kvw_client *kvw;
    int fd, closed, rc;
    size_t queued;

    if (!c)
        return KVW_EINVAL;
    lock(c);
    if (c->state != ST_OPEN) {
        rc = c->closed ? KVW_ECLOSED : KVW_EINVAL;
        unlock(c);
        return rc;
    }
    c->refs++;
    kvw = c->kvw;
    fd = c->kvw_fd;
    queued = c->count;
    /* Not c->closed: until kvwb_client_close returns, the closing thread may
     * still be queuing cancelled ops' records, and a dispatcher that stopped
     * at KVW_ECLOSED would strand them. Waiting until then is bounded. */
    closed = c->close_done;
    unlock(c);

    if (!queued && !closed && timeout_ms != 0)
        wait_fds(fd, c->wake[0], timeout_ms < 0 ? -1 : timeout_ms);
    wake_drain(c);
    rc = kvw_client_poll(kvw, 0); /* our callbacks append to the queue */

    lock(c);
    queued = c->count;
    closed = c->close_done;
    unlock(c);
    core_unref(c);

    if (queued)
        return queued > INT_MAX ? INT_MAX : (int)queued;
    if (closed)
        return KVW_ECLOSED;
    /* kvw may report itself closed before kvwb_client_close has returned. */
    return rc < 0 && rc != KVW_ECLOSED ? rc : 0;
}

kvwb_completion *kvwb_next(kvwb_client *c)
{
    kvwb_completion *rec = NULL;
    if (!c)
        return NULL;
    lock(c);
    if (c->count) {
        rec = c->ring[c->head];
        c->head = (c->head + 1) % c->cap;
        c->count--;
    }
    unlock(c);
    return rec;
}

int kvwb_queued(kvwb_client *c)
{
    size_t n;
    if (!c)
        return KVW_EINVAL;
    lock(c);
    n = c->count;
    unlock(c);
    return n > INT_MAX ? INT_MAX : (int)n;
}

int kvwb_inflight(kvwb_client *c)
{
    size_t n;
    if (!c)
        return KVW_EINVAL;
    lock(c);
    n = c->inflight;
    unlock(c);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* Takes a reference on an open client so that its kvw client stays while
 * the caller uses it without the lock; core_unref() gives it back. */
static int client_hold(kvwb_client *c, kvw_client **kvw)
{
    int rc;
    if (!c)
        return KVW_EINVAL;
    lock(c);
    if (c->state != ST_OPEN || c->closed) {
        rc = c->closed ? KVW_ECLOSED : KVW_EINVAL;
        unlock(c);
        return rc;
    }
    c->refs++;
    *kvw = c->kvw;
    unlock(c);
    return 0;
}

int kvwb_client_server_version(kvwb_client *c)
{
    kvw_client *kvw;
    int rc = client_hold(c, &kvw);
    if (rc != 0)
        return rc;
    rc = kvw_client_server_version(kvw);
    core_unref(c);
    return rc;
}

int kvwb_fd(kvwb_client *c)
{
    int fd;
    if (!c)
        return KVW_EINVAL;
    lock(c);
    fd = c->state == ST_OPEN ? c->kvw_fd : KVW_EINVAL;
    unlock(c);
    return fd;
}

int kvwb_wake_fd(kvwb_client *c)
{
    return c ? c->wake[0] : KVW_EINVAL;
}

int kvwb_wake(kvwb_client *c)
{
    if (!c)
        return KVW_EINVAL;
    wake_write(c);
    return 0;
}

/* ------------------------------------------------------------- buckets */

kvwb_bucket *kvwb_bucket_new(void)
{
    return (kvwb_bucket *)calloc(1, sizeof(kvwb_bucket));
}

int kvwb_bucket_open(kvwb_bucket *b, kvwb_client *c, const char *name,
                     const kvwb_bucket_options *opts)
{
    kvw_client *kvw;
    kvw_bucket *kb = NULL;
    int rc;

    if (!b || !c || b->core)
        return KVW_EINVAL;
    rc = client_hold(c, &kvw);
    if (rc != 0)
        return rc;

    rc = kvw_bucket_open(&kb, kvw, name, opts ? &opts->o : NULL);
    if (rc != 0) {
        core_unref(c);
        return rc;
    }
    b->kvw = kb;
    b->core = c;
    return 0;
}

int kvwb_bucket_close(kvwb_bucket *b)
{
    if (!b || !b->kvw)
        return KVW_EINVAL;
    return kvw_bucket_close(b->kvw);
}

void kvwb_bucket_free(kvwb_bucket *b)
{
    if (!b)
        return;
    kvw_bucket_free(b->kvw); /* NULL ok */
    if (b->core)
        core_unref(b->core);
    free(b);
}

const char *kvwb_bucket_name(const kvwb_bucket *b)
{
    return b && b->kvw ? kvw_bucket_name(b->kvw) : "";
}

int64_t kvwb_bucket_max_value_size(const kvwb_bucket *b)
{
    return b && b->kvw ? kvw_bucket_max_value_size(b->kvw) : (int64_t)KVW_EINVAL;
}

int kvwb_bucket_supports(const kvwb_bucket *b, int feature)
{
    return b && b->kvw ? kvw_bucket_supports(b->kvw, feature) : KVW_EINVAL;
}

const char *kvwb_bucket_feature_status(const kvwb_bucket *b, int feature)
{
    return b && b->kvw ? kvw_bucket_feature_status(b->kvw, feature) : "bucket not open";
}

int kvwb_bucket_enable_ttl(kvwb_bucket *b, int64_t limit_marker_ttl_ms)
{
    return b && b->kvw ? kvw_bucket_enable_ttl(b->kvw, limit_marker_ttl_ms) : KVW_EINVAL;
}

/* ---------------------------------------------------------- completions */

static const char OOM_MESSAGE[] = "kvw binding: out of memory copying the result";

static void push(kvwb_client *c, kvwb_completion *rec)
{
    lock(c);
    /* Space was reserved by op_begin: cap >= count + inflight. */
    c->ring[(c->head + c->count) % c->cap] = rec;
    c->count++;
    c->inflight--;
    unlock(c);
}

/* Bytes of `r`'s strings in a record: key, message and value, each with a NUL. */
static size_t strings_size(const kvw_result *r)
{
    return strlen(r->key ? r->key : "") + 1 + strlen(r->message ? r->message : "") + 1 +
           (r->value ? r->value_len : 0) + 1;
}

/* The fields of `rec` that are no strings. */
static void set_fields(kvwb_completion *rec, const kvw_result *r, int64_t op_id)
{
    uint64_t rev = 0;
    rec->status = r->status;
    rec->op_id = op_id;
    rec->op = (int)r->op;
    rec->server_error = r->server_error;
    rec->entry_op = (int)r->entry_op;
    rec->ttl_ms = r->ttl_ms;
    rec->txn_writes = (int64_t)r->txn_writes;
    rec->entry_count = 0;
    rec->entries_ = NULL;
    if (kvw_version_format(&r->version, rec->version, sizeof rec->version) < 0)
        memcpy(rec->version, "unknown", sizeof "unknown");
    if (kvw_version_to_u64(&r->version, &rev) != 0 || rev > (uint64_t)INT64_MAX)
        rev = 0;
    rec->revision = (int64_t)rev;
}

/* Fills `rec` from `r`, its strings copied to `p`; returns the end of them. */
static char *fill_record(kvwb_completion *rec, const kvw_result *r, int64_t op_id, char *p)
{
    const char *key = r->key ? r->key : "";
    const char *msg = r->message ? r->message : "";
    size_t klen = strlen(key), mlen = strlen(msg);
    size_t vlen = r->value ? r->value_len : 0;
    set_fields(rec, r, op_id);
    memcpy(p, key, klen + 1);
    rec->key = p;
    p += klen + 1;
    memcpy(p, msg, mlen + 1);
    rec->message = p;
    p += mlen + 1;
    if (vlen)
        memcpy(p, r->value, vlen);
    p[vlen] = '\0';
    rec->value = p;
    rec->value_len = (int64_t)vlen;
    return p + vlen + 1;
}

/* A multi-key read's entries as records in one block, or NULL. */
static kvwb_completion *make_entries(const kvw_result *r)
{
    size_t n = r->entry_count, total = n * sizeof(kvwb_completion), i;
    kvwb_completion *e;
    char *p;
    for (i = 0; i < n; i++)
        total += strings_size(&r->entries[i]);
    e = (kvwb_completion *)malloc(total);
    if (!e)
        return NULL;
    p = (char *)(e + n);
    for (i = 0; i < n; i++)
        p = fill_record(&e[i], &r->entries[i], 0, p);
    return e;
}

/* A deep copy of `r` (its entries in a second block), or `fallback` (if
 * any) reduced to what needs no allocation; NULL when neither. */
static kvwb_completion *make_record(const kvw_result *r, int64_t op_id, kvwb_completion *fallback)
{
    const int read = r->op == KVW_OP_GET || r->op == KVW_OP_GET_ENTRY || r->op == KVW_OP_GET_MANY;
    size_t size = strings_size(r);
    kvwb_completion *rec = size <= SIZE_MAX - sizeof(kvwb_completion) ? (kvwb_completion *)malloc(sizeof *rec + size) : NULL;
    kvwb_completion *entries = r->entry_count > 0 && rec ? make_entries(r) : NULL;
    if (rec && (r->entry_count == 0 || entries)) {
        fill_record(rec, r, op_id, (char *)(rec + 1));
        rec->entries_ = entries;
        rec->entry_count = (int64_t)r->entry_count;
        return rec;
    }
    free(rec);
    if (!fallback)
        return NULL;
    /* Reduced record: keep the outcome of a write (the version matters),
     * but a read whose value cannot be copied did not succeed for us. */
    rec = fallback;
    set_fields(rec, r, op_id);
    rec->key = "";
    rec->message = OOM_MESSAGE;
    rec->value = "";
    rec->value_len = 0;
    rec->status = r->status == KVW_OK && read ? KVW_ENOMEM : r->status;
    return rec;
}

/* One callback for writes and reads (kvw_write_cb and kvw_read_cb agree). */
static void on_result(const kvw_result *r, void *user_data)
{
    struct op_ctx *ctx = (struct op_ctx *)user_data;
    kvwb_client *c = ctx->core;
    kvwb_completion *rec = make_record(r, ctx->rec.op_id, &ctx->rec);

    push(c, rec);
    if (rec != &ctx->rec)
        free(ctx);
    core_unref(c);
}

void kvwb_completion_free(kvwb_completion *completion)
{
    if (!completion)
        return;
    free(completion->entries_); /* a multi-key read's entries: one block */
    free(completion);           /* one block, see make_record */
}

const kvwb_completion *kvwb_completion_entry(const kvwb_completion *completion, int64_t i)
{
    return completion && i >= 0 && i < completion->entry_count ? &completion->entries_[i] : NULL;
}

/* ------------------------------------------------------------- submits */

static int grow_locked(kvwb_client *c, size_t need)
{
    size_t cap = c->cap ? c->cap : 16, i;
    kvwb_completion **ring;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof *ring)
            return KVW_ENOMEM;
        cap *= 2;
    }
    ring = (kvwb_completion **)malloc(cap * sizeof *ring);
    if (!ring)
        return KVW_ENOMEM;
    for (i = 0; i < c->count; i++)
        ring[i] = c->ring[(c->head + i) % c->cap];
    free(c->ring);
    c->ring = ring;
    c->cap = cap;
    c->head = 0;
    return 0;
}

/* Reserves a queue slot, a reference and the callback context for one op. */
static int op_begin_core(kvwb_client *c, int64_t op_id, struct op_ctx **out)
{
    struct op_ctx *ctx;
    size_t need;

    *out = NULL;
    ctx = (struct op_ctx *)calloc(1, sizeof *ctx);
    if (!ctx)
        return KVW_ENOMEM;
    lock(c);
    need = c->count + c->inflight + 1;
    if (need > c->cap && grow_locked(c, need) != 0) {
        unlock(c);
        free(ctx);
        return KVW_ENOMEM;
    }
    c->inflight++;
    c->refs++;
    unlock(c);
    ctx->core = c;
    ctx->rec.op_id = op_id;
    *out = ctx;
    return 0;
}

static int op_begin(kvwb_bucket *b, int64_t op_id, struct op_ctx **out)
{
    *out = NULL;
    return b && b->kvw ? op_begin_core(b->core, op_id, out) : KVW_EINVAL;
}

static int parse_version(kvw_version *v, const char *text)
{
    if (!text)
        return KVW_EINVAL;
    return kvw_version_parse(v, text) == 0 ? 0 : KVW_EBADVERSION;
}

/* op_begin for a CAS op: its expected version is checked first. */
static int op_begin_cas(kvwb_bucket *b, const char *expected_version, kvw_version *v, int64_t op_id,
                        struct op_ctx **out)
{
    int rc = parse_version(v, expected_version);
    return rc != 0 ? rc : op_begin(b, op_id, out);
}

/* After the kvw submit: on refusal no callback will run, so undo op_begin.
 * On acceptance ctx may already be gone (a concurrent poll or close). */
static int op_end(struct op_ctx *ctx, int rc)
{
    if (rc != 0) {
        kvwb_client *c = ctx->core;
        lock(c);
        c->inflight--;
        unlock(c);
        free(ctx);
        core_unref(c);
    }
    return rc;
}

int kvwb_put(kvwb_bucket *b, const char *key, const void *data, size_t len, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_put(b->kvw, key, data, len, on_result, ctx));
}

int kvwb_create(kvwb_bucket *b, const char *key, const void *data, size_t len, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_create(b->kvw, key, data, len, on_result, ctx));
}

int kvwb_update(kvwb_bucket *b, const char *key, const void *data, size_t len,
                const char *expected_version, int64_t op_id)
{
    struct op_ctx *ctx;
    kvw_version v;
    int rc = op_begin_cas(b, expected_version, &v, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_update(b->kvw, key, data, len, &v, on_result, ctx));
}

int kvwb_delete(kvwb_bucket *b, const char *key, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_delete(b->kvw, key, on_result, ctx));
}

int kvwb_delete_with_version(kvwb_bucket *b, const char *key, const char *expected_version,
                             int64_t op_id)
{
    struct op_ctx *ctx;
    kvw_version v;
    int rc = op_begin_cas(b, expected_version, &v, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_delete_with_version(b->kvw, key, &v, on_result, ctx));
}

int kvwb_purge(kvwb_bucket *b, const char *key, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_purge(b->kvw, key, on_result, ctx));
}

int kvwb_get(kvwb_bucket *b, const char *key, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_get(b->kvw, key, on_result, ctx));
}

int kvwb_get_entry(kvwb_bucket *b, const char *key, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_get_entry(b->kvw, key, on_result, ctx));
}

static int get_at_least(kvwb_bucket *b, const char *key, const char *min_version, int64_t op_id,
                        int entry)
{
    struct op_ctx *ctx;
    kvw_version v;
    int rc = parse_version(&v, min_version);
    if (rc != 0)
        return rc;
    if (kvw_version_is_unknown(&v))
        return KVW_EBADVERSION;
    rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, entry ? kvw_get_entry_at_least(b->kvw, key, &v, on_result, ctx)
                             : kvw_get_at_least(b->kvw, key, &v, on_result, ctx));
}

int kvwb_get_at_least(kvwb_bucket *b, const char *key, const char *min_version, int64_t op_id)
{
    return get_at_least(b, key, min_version, op_id, 0);
}

int kvwb_get_entry_at_least(kvwb_bucket *b, const char *key, const char *min_version, int64_t op_id)
{
    return get_at_least(b, key, min_version, op_id, 1);
}

int kvwb_put_ttl(kvwb_bucket *b, const char *key, const void *data, size_t len, int64_t ttl_ms,
                 int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_put_ttl(b->kvw, key, data, len, ttl_ms, on_result, ctx));
}

int kvwb_create_ttl(kvwb_bucket *b, const char *key, const void *data, size_t len, int64_t ttl_ms,
                    int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_create_ttl(b->kvw, key, data, len, ttl_ms, on_result, ctx));
}

int kvwb_update_ttl(kvwb_bucket *b, const char *key, const void *data, size_t len,
                    const char *expected_version, int64_t ttl_ms, int64_t op_id)
{
    struct op_ctx *ctx;
    kvw_version v;
    int rc = op_begin_cas(b, expected_version, &v, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_update_ttl(b->kvw, key, data, len, &v, ttl_ms, on_result, ctx));
}

int kvwb_purge_ttl(kvwb_bucket *b, const char *key, int64_t ttl_ms, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_purge_ttl(b->kvw, key, ttl_ms, on_result, ctx));
}

int kvwb_delete_ttl(kvwb_bucket *b, const char *key, int64_t ttl_ms, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc = op_begin(b, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_delete_ttl(b->kvw, key, ttl_ms, on_result, ctx));
}

/* ------------------------------------------------------- multi-key reads */

/* Splits "k1\nk2\n" into a fresh copy (*buf) and an array of `count` keys
 * (*out) pointing into it; KVW_EBADKEY unless it holds exactly `count`. */
static int split_keys(const char *keys, int64_t count, char **buf, const char ***out)
{
    size_t len, n = 0, i;
    const char **arr;
    char *copy, *p;
    *buf = NULL;
    *out = NULL;
    if (!keys || count <= 0 || count > KVW_GET_MANY_MAX)
        return KVW_EINVAL;
    len = strlen(keys);
    for (i = 0; i < len; i++)
        n += keys[i] == '\n';
    if ((int64_t)n != count || len == 0 || keys[len - 1] != '\n')
        return KVW_EBADKEY;
    copy = (char *)malloc(len + 1);
    arr = (const char **)malloc((size_t)count * sizeof *arr);
    if (!copy || !arr) {
        free(copy);
        free((void *)arr);
        return KVW_ENOMEM;
    }
    memcpy(copy, keys, len + 1);
    for (p = copy, i = 0; i < n; i++) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        arr[i] = p;
        p = nl + 1;
    }
    *buf = copy;
    *out = arr;
    return 0;
}

int kvwb_get_many(kvwb_bucket *b, const char *keys, int64_t count, int64_t op_id)
{
    struct op_ctx *ctx;
    char *buf;
    const char **arr;
    int rc = split_keys(keys, count, &buf, &arr);
    if (rc == 0)
        rc = op_begin(b, op_id, &ctx);
    if (rc == 0) /* kvw copies the keys */
        rc = op_end(ctx, kvw_get_many(b->kvw, arr, (size_t)count, on_result, ctx));
    free(buf);
    free((void *)arr);
    return rc;
}

/* -------------------------------------------------------- transactions */

struct kvwb_txn {
    kvw_txn *kvw;
    kvwb_client *core; /* a reference: the commit's record goes to its queue */
};

kvwb_txn *kvwb_txn_new(void)
{
    return (kvwb_txn *)calloc(1, sizeof(kvwb_txn));
}

int kvwb_txn_open(kvwb_txn *t, kvwb_bucket *b)
{
    int rc;
    if (!t || t->kvw || !b || !b->kvw)
        return KVW_EINVAL;
    rc = kvw_txn_new(&t->kvw, b->kvw);
    if (rc != 0)
        return rc;
    lock(b->core);
    b->core->refs++;
    unlock(b->core);
    t->core = b->core;
    return 0;
}

void kvwb_txn_free(kvwb_txn *t)
{
    if (!t)
        return;
    kvw_txn_free(t->kvw);
    if (t->core)
        core_unref(t->core);
    free(t);
}

int kvwb_txn_put(kvwb_txn *t, const char *key, const void *data, size_t len)
{
    return t ? kvw_txn_put(t->kvw, key, data, len) : KVW_EINVAL;
}

int kvwb_txn_create(kvwb_txn *t, const char *key, const void *data, size_t len)
{
    return t ? kvw_txn_create(t->kvw, key, data, len) : KVW_EINVAL;
}

int kvwb_txn_update(kvwb_txn *t, const char *key, const void *data, size_t len, const char *expected_version)
{
    kvw_version v;
    int rc = t ? parse_version(&v, expected_version) : KVW_EINVAL;
    return rc != 0 ? rc : kvw_txn_update(t->kvw, key, data, len, &v);
}

int kvwb_txn_delete(kvwb_txn *t, const char *key)
{
    return t ? kvw_txn_delete(t->kvw, key) : KVW_EINVAL;
}

int kvwb_txn_delete_with_version(kvwb_txn *t, const char *key, const char *expected_version)
{
    kvw_version v;
    int rc = t ? parse_version(&v, expected_version) : KVW_EINVAL;
    return rc != 0 ? rc : kvw_txn_delete_with_version(t->kvw, key, &v);
}

int kvwb_txn_len(kvwb_txn *t)
{
    return t ? kvw_txn_len(t->kvw) : KVW_EINVAL;
}

int kvwb_txn_commit(kvwb_txn *t, int64_t op_id)
{
    struct op_ctx *ctx;
    int rc;
    if (!t || !t->kvw)
        return KVW_EINVAL;
    rc = op_begin_core(t->core, op_id, &ctx);
    if (rc != 0)
        return rc;
    return op_end(ctx, kvw_txn_commit(t->kvw, on_result, ctx));
}

/* -------------------------------------------------------- blocking calls */

struct kvwb_call {
    kvw_waiter *w;
};

kvwb_call *kvwb_call_new(void)
{
    kvwb_call *call = (kvwb_call *)calloc(1, sizeof *call);
    if (call && kvw_waiter_new(&call->w) != 0) {
        free(call);
        return NULL;
    }
    return call;
}

void kvwb_call_free(kvwb_call *call)
{
    if (!call)
        return;
    kvw_waiter_free(call->w);
    free(call);
}

int kvwb_call_start(kvwb_call *call, kvwb_bucket *b, int op, const char *key, const void *data,
                    size_t len, const char *version, int64_t ttl_ms)
{
    kvw_waiter *w;
    kvw_bucket *kb;
    kvw_version v;
    const int cas = op == KVW_OP_UPDATE || op == KVW_OP_DELETE_WITH_VERSION;
    const int at_least = (op == KVW_OP_GET || op == KVW_OP_GET_ENTRY) && version && *version;
    const int ttl = ttl_ms != 0;

    if (!call || !b || !b->kvw)
        return KVW_EINVAL;
    w = call->w;
    kb = b->kvw;
    if (cas || at_least) {
        int rc = parse_version(&v, version);
        if (rc != 0)
            return rc;
        if (at_least && kvw_version_is_unknown(&v))
            return KVW_EBADVERSION;
    }
    switch (op) {
    case KVW_OP_PUT:
        return ttl ? kvw_put_ttl(kb, key, data, len, ttl_ms, kvw_waiter_callback, w)
                   : kvw_put(kb, key, data, len, kvw_waiter_callback, w);
    case KVW_OP_CREATE:
        return ttl ? kvw_create_ttl(kb, key, data, len, ttl_ms, kvw_waiter_callback, w)
                   : kvw_create(kb, key, data, len, kvw_waiter_callback, w);
    case KVW_OP_UPDATE:
        return ttl ? kvw_update_ttl(kb, key, data, len, &v, ttl_ms, kvw_waiter_callback, w)
                   : kvw_update(kb, key, data, len, &v, kvw_waiter_callback, w);
    case KVW_OP_DELETE:
        return ttl ? kvw_delete_ttl(kb, key, ttl_ms, kvw_waiter_callback, w)
                   : kvw_delete(kb, key, kvw_waiter_callback, w);
    case KVW_OP_DELETE_WITH_VERSION:
        return ttl ? KVW_EINVAL : kvw_delete_with_version(kb, key, &v, kvw_waiter_callback, w);
    case KVW_OP_PURGE:
        return ttl ? kvw_purge_ttl(kb, key, ttl_ms, kvw_waiter_callback, w)
                   : kvw_purge(kb, key, kvw_waiter_callback, w);
    case KVW_OP_GET:
        if (ttl)
            return KVW_EINVAL;
        return at_least ? kvw_get_at_least(kb, key, &v, kvw_waiter_callback, w)
                        : kvw_get(kb, key, kvw_waiter_callback, w);
    case KVW_OP_GET_ENTRY:
        if (ttl)
            return KVW_EINVAL;
        return at_least ? kvw_get_entry_at_least(kb, key, &v, kvw_waiter_callback, w)
                        : kvw_get_entry(kb, key, kvw_waiter_callback, w);
    }
    return KVW_EINVAL;
}

int kvwb_call_wait(kvwb_call *call, int timeout_ms)
{
    const kvw_result *r;
    return call ? kvw_waiter_wait(call->w, timeout_ms, &r) : KVW_EINVAL;
}

int kvwb_call_get_many(kvwb_call *call, kvwb_bucket *b, const char *keys, int64_t count)
{
    char *buf;
    const char **arr;
    int rc;
    if (!call || !b || !b->kvw)
        return KVW_EINVAL;
    rc = split_keys(keys, count, &buf, &arr);
    if (rc == 0)
        rc = kvw_get_many(b->kvw, arr, (size_t)count, kvw_waiter_callback, call->w);
    free(buf);
    free((void *)arr);
    return rc;
}

int kvwb_call_commit(kvwb_call *call, kvwb_txn *t)
{
    if (!call || !t || !t->kvw)
        return KVW_EINVAL;
    return kvw_txn_commit(t->kvw, kvw_waiter_callback, call->w);
}

kvwb_completion *kvwb_call_result(kvwb_call *call)
{
    const kvw_result *r = NULL;
    if (!call || kvw_waiter_wait(call->w, 0, &r) != 1)
        return NULL;
    return make_record(r, 0, NULL);
}

/* -------------------------------------------------------- version text */

char *kvwb_version_from_revision(int64_t revision)
{
    kvw_version v = kvw_version_from_u64(revision > 0 ? (uint64_t)revision : 0);
    char *text = (char *)malloc(KVW_VERSION_STRLEN);
    if (text && kvw_version_format(&v, text, KVW_VERSION_STRLEN) < 0)
        memcpy(text, "unknown", sizeof "unknown");
    return text;
}

int64_t kvwb_version_revision(const char *version)
{
    kvw_version v;
    uint64_t rev;
    int rc = parse_version(&v, version);
    if (rc != 0)
        return rc;
    if (kvw_version_is_unknown(&v))
        return 0;
    if (kvw_version_to_u64(&v, &rev) != 0 || rev > (uint64_t)INT64_MAX)
        return KVW_EBADVERSION;
    return (int64_t)rev;
}

int kvwb_version_check(const char *version)
{
    kvw_version v;
    return parse_version(&v, version);
}

int kvwb_version_is_unknown(const char *version)
{
    kvw_version v;
    int rc = parse_version(&v, version);
    return rc != 0 ? rc : kvw_version_is_unknown(&v);
}

int kvwb_version_equal(const char *a, const char *b)
{
    kvw_version va, vb;
    int rc = parse_version(&va, a);
    if (rc == 0)
        rc = parse_version(&vb, b);
    return rc != 0 ? rc : kvw_version_equal(&va, &vb);
}
