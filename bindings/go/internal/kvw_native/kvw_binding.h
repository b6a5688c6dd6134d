/*
 * kvw binding shim — completions as data, for SWIG-generated bindings.
 *
 * SWIG languages cannot hand C a function pointer, and Go, Java and Ruby must
 * not be entered from a thread they do not own. This shim therefore opens the
 * kvw client in KVW_DELIVERY_POLL mode, passes its own C callback to every
 * kvw submit function, and turns each result into a self-contained record
 * (kvwb_completion) in a per-client FIFO. A thread of the binding's language
 * waits (kvwb_wait, or poll() on kvwb_fd for Ruby) and pops the records
 * (kvwb_next). The binding names each op with an int64 op id of its choosing
 * and keeps its own map op id -> future/channel/block, so no language pointer
 * ever reaches C.
 *
 * This file is compiled into each language's native module, not into libkvw.
 * Plain C99 (+ POSIX); also valid C++. See bindings/DESIGN.md.
 *
 * CONTRACT
 *   - A submit function (kvwb_put … kvwb_get_entry) returns 0 or a negative
 *     KVW_E* code. If and only if it returned 0, exactly one record with its
 *     op id is queued later (success, refusal, timeout, close: KVW_ECLOSED).
 *   - Submit copies everything (key, value bytes, version text) before it
 *     returns; the shim keeps no caller pointer.
 *   - Every function may be called from any thread. No function calls back
 *     into the caller; kvw's callbacks only run inside kvwb_wait (and inside
 *     kvwb_client_close / kvwb_client_free for cancelled ops), and they only
 *     append to the queue.
 *   - No out-parameters: handles are allocated by *_new and filled by *_open,
 *     which returns a status.
 */
#ifndef KVW_BINDING_H
#define KVW_BINDING_H

#include <stddef.h>
#include <stdint.h>

#include <kvw/kvw.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- options */

/** Client options; strings are copied by the setters. Opaque. */
typedef struct kvwb_client_options kvwb_client_options;
/** Bucket options (used only when the bucket is created). Opaque. */
typedef struct kvwb_bucket_options kvwb_bucket_options;

/** Options with kvw's defaults; NULL when out of memory. */
kvwb_client_options *kvwb_client_options_new(void);
void kvwb_client_options_free(kvwb_client_options *opts); /* NULL ok */
/* String setters copy `value`; NULL or "" restores the default.
 * All setters return 0, KVW_EINVAL (NULL opts, value out of range) or KVW_ENOMEM.
 * Numeric values are checked by kvwb_client_open, except ranges that the
 * C field cannot hold. */
int kvwb_client_options_set_servers(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_name(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_user(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_password(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_token(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_credentials_file(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_tls_ca_file(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_tls_cert_file(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_tls_key_file(kvwb_client_options *opts, const char *value);
int kvwb_client_options_set_tls_required(kvwb_client_options *opts, int value);
int kvwb_client_options_set_connect_timeout_ms(kvwb_client_options *opts, int64_t value);
int kvwb_client_options_set_op_timeout_ms(kvwb_client_options *opts, int64_t value);
/** 0 = default; 1..4294967295. */
int kvwb_client_options_set_max_inflight(kvwb_client_options *opts, int64_t value);
int kvwb_client_options_set_max_reconnect(kvwb_client_options *opts, int value);
int kvwb_client_options_set_reconnect_wait_ms(kvwb_client_options *opts, int64_t value);
/** 0 = default (1000); > 0 ms; KVW_RESEND_NEVER (-1): no write ids, one send. */
int kvwb_client_options_set_resend_after_ms(kvwb_client_options *opts, int64_t value);

kvwb_bucket_options *kvwb_bucket_options_new(void);
void kvwb_bucket_options_free(kvwb_bucket_options *opts); /* NULL ok */
int kvwb_bucket_options_set_create_if_missing(kvwb_bucket_options *opts, int value);
int kvwb_bucket_options_set_history(kvwb_bucket_options *opts, int value);
int kvwb_bucket_options_set_max_age_ms(kvwb_bucket_options *opts, int64_t value);
int kvwb_bucket_options_set_max_bytes(kvwb_bucket_options *opts, int64_t value);
/** 0 = server limit; 1..2147483647. */
int kvwb_bucket_options_set_max_value_size(kvwb_bucket_options *opts, int64_t value);
int kvwb_bucket_options_set_replicas(kvwb_bucket_options *opts, int value);
/** KVW_STORAGE_FILE or KVW_STORAGE_MEMORY. */
int kvwb_bucket_options_set_storage(kvwb_bucket_options *opts, int value);
/** 1: the bucket accepts per-key TTLs (nats-server 2.11+). */
int kvwb_bucket_options_set_allow_ttl(kvwb_bucket_options *opts, int value);
/** > 0: limit markers that live this long (whole seconds, >= 1000). */
int kvwb_bucket_options_set_limit_marker_ttl_ms(kvwb_bucket_options *opts, int64_t value);
/** How long the stream remembers write ids; 0: 30 s (or max_age when shorter). */
int kvwb_bucket_options_set_duplicate_window_ms(kvwb_bucket_options *opts, int64_t value);
/** KVW_READ_CHECKED, KVW_READ_DIRECT or KVW_READ_LEADER (kvw.h, READS). */
int kvwb_bucket_options_set_read_mode(kvwb_bucket_options *opts, int value);
/** 1: the bucket takes transactions (allow_atomic; nats-server 2.12+). */
int kvwb_bucket_options_set_allow_atomic(kvwb_bucket_options *opts, int value);
/** 1: the bucket takes fast-ingest batches (allow_batched; nats-server 2.14+). */
int kvwb_bucket_options_set_allow_batched(kvwb_bucket_options *opts, int value);
/** 1: this handle's puts, deletes and purges go as fast-ingest batches (kvw.h, BULK WRITES). */
int kvwb_bucket_options_set_bulk(kvwb_bucket_options *opts, int value);

/* ------------------------------------------------------------- clients */

/**
 * A kvw client in POLL delivery plus the completion queue. Reference counted
 * internally: buckets and running kvwb_wait calls keep the shared state
 * alive, so the language's finalisers may free handles in any order.
 */
typedef struct kvwb_client kvwb_client;

/** An unopened handle; NULL when out of memory. */
kvwb_client *kvwb_client_new(void);
/**
 * Connects (blocking, like kvw_client_open) with `opts` (NULL: defaults);
 * delivery is always POLL. Once per handle: KVW_EINVAL if already opened.
 * Returns 0 or KVW_EINVAL, KVW_ENOTCONN, KVW_EAUTH, KVW_ETLS, KVW_ENOMEM.
 */
int kvwb_client_open(kvwb_client *client, const kvwb_client_options *opts);
/**
 * kvw_client_close: new submits fail with KVW_ECLOSED and every pending op
 * gets its record (status KVW_ECLOSED) in the queue *before this returns*
 * (POLL mode runs the cancellations on the calling thread). Also wakes every
 * kvwb_wait, which from now on returns KVW_ECLOSED once the queue is empty.
 * Drain with kvwb_next afterwards. Idempotent; 0 or KVW_EINVAL (NULL).
 */
int kvwb_client_close(kvwb_client *client);
/**
 * kvw_client_drain: like kvwb_client_close, but first waits (at most
 * `timeout_ms`, >= 0) until every accepted op has its outcome. 0 when none
 * had to be cancelled, KVW_ETIMEDOUT when some were (their records say
 * KVW_ECLOSED), KVW_EINVAL. On a closed handle: 0 at once.
 */
int kvwb_client_drain(kvwb_client *client, int64_t timeout_ms);
/**
 * Closes, drops the queued records and releases the handle (NULL ok). The
 * kvw client itself is freed when the last bucket / kvwb_wait lets go.
 * Call it only after your dispatcher stopped calling kvwb_wait/kvwb_next on
 * this handle.
 */
void kvwb_client_free(kvwb_client *client);

/**
 * Waits up to `timeout_ms` (0: do not wait, -1: forever) until at least one
 * record is queued, the client is closed, or kvwb_wake is called; runs kvw's
 * pending callbacks on this thread (they only append to the queue).
 * Returns the number of queued records (>= 0), KVW_ECLOSED when closed and
 * the queue is empty (the dispatcher's signal to stop), or KVW_EINVAL
 * (NULL, never opened). Never calls into a language runtime.
 * May return 0 before the timeout (woken, or another thread took the
 * records): loop. The Ruby module's kvwb_wait releases the GVL when
 * timeout_ms != 0 (bindings/ruby/kvw_ruby.i).
 */
int kvwb_wait(kvwb_client *client, int timeout_ms);
/**
 * Pops the oldest record, or NULL when the queue is empty. The caller owns
 * it: kvwb_completion_free. Non-blocking.
 */
struct kvwb_completion *kvwb_next(kvwb_client *client);
/** Records queued now (no polling). KVW_EINVAL for NULL. */
int kvwb_queued(kvwb_client *client);
/** Ops accepted by this shim whose record is not yet queued. */
int kvwb_inflight(kvwb_client *client);
/** kvw_client_server_version (2.11.3 -> 21103), or KVW_ECLOSED / KVW_EINVAL / KVW_ENOTCONN. */
int kvwb_client_server_version(kvwb_client *client);
/**
 * kvw_client_fd: readable while kvw has completions to run; then call
 * kvwb_wait(client, 0). Owned by kvw: do not close or read it. Valid until
 * kvwb_client_free. Negative KVW_E* when not open.
 */
int kvwb_fd(kvwb_client *client);
/**
 * The read end of the shim's wake pipe: readable after kvwb_wake (until a
 * kvwb_wait consumes it) and permanently once the client is closed. Wait on
 * both fds (e.g. Ruby IO.select) to notice a close made by another thread.
 */
int kvwb_wake_fd(kvwb_client *client);
/** Makes a waiting (or the next) kvwb_wait return early. 0 or KVW_EINVAL. */
int kvwb_wake(kvwb_client *client);

/* ------------------------------------------------------------- buckets */

typedef struct kvwb_bucket kvwb_bucket;

kvwb_bucket *kvwb_bucket_new(void);
/**
 * Opens bucket `name` through `client` (blocking, like kvw_bucket_open).
 * `opts` may be NULL. Once per handle. Returns 0 or a KVW_E* code.
 */
int kvwb_bucket_open(kvwb_bucket *bucket, kvwb_client *client, const char *name,
                     const kvwb_bucket_options *opts);
/** kvw_bucket_close: refuses new ops; pending ops still complete. */
int kvwb_bucket_close(kvwb_bucket *bucket);
/** Closes and releases (NULL ok). Pending ops still get their records. */
void kvwb_bucket_free(kvwb_bucket *bucket);
/** The bucket's name; "" before open. Owned by the bucket. */
const char *kvwb_bucket_name(const kvwb_bucket *bucket);
/** Largest accepted value in bytes; negative KVW_E* before open. */
int64_t kvwb_bucket_max_value_size(const kvwb_bucket *bucket);
/** kvw_bucket_supports: 1, 0, or KVW_EINVAL (also before open). */
int kvwb_bucket_supports(const kvwb_bucket *bucket, int feature);
/** kvw_bucket_feature_status; owned by the bucket, never NULL. */
const char *kvwb_bucket_feature_status(const kvwb_bucket *bucket, int feature);
/** kvw_bucket_enable_ttl (blocking). */
int kvwb_bucket_enable_ttl(kvwb_bucket *bucket, int64_t limit_marker_ttl_ms);

/* ------------------------------------------------------------- submits */
/*
 * All return 0 (exactly one record with `op_id` will be queued) or a
 * negative KVW_E* code (no record): the codes of the kvw_* function, plus
 * KVW_EINVAL for a NULL/unopened bucket and KVW_EBADVERSION for version text
 * that kvw_version_parse refuses. `data` may be NULL when `len` is 0.
 */
int kvwb_put(kvwb_bucket *bucket, const char *key, const void *data, size_t len,
             int64_t op_id);
int kvwb_create(kvwb_bucket *bucket, const char *key, const void *data, size_t len,
                int64_t op_id);
int kvwb_update(kvwb_bucket *bucket, const char *key, const void *data, size_t len,
                const char *expected_version, int64_t op_id);
int kvwb_delete(kvwb_bucket *bucket, const char *key, int64_t op_id);
int kvwb_delete_with_version(kvwb_bucket *bucket, const char *key,
                             const char *expected_version, int64_t op_id);
int kvwb_purge(kvwb_bucket *bucket, const char *key, int64_t op_id);
int kvwb_get(kvwb_bucket *bucket, const char *key, int64_t op_id);
int kvwb_get_entry(kvwb_bucket *bucket, const char *key, int64_t op_id);
/* kvw_get_at_least / kvw_get_entry_at_least: see at least `min_version`. */
int kvwb_get_at_least(kvwb_bucket *bucket, const char *key, const char *min_version,
                      int64_t op_id);
int kvwb_get_entry_at_least(kvwb_bucket *bucket, const char *key, const char *min_version,
                            int64_t op_id);
/* Per-key TTL (kvw_*_ttl): ttl_ms whole seconds >= 1000, or KVW_TTL_NEVER. */
int kvwb_put_ttl(kvwb_bucket *bucket, const char *key, const void *data, size_t len,
                 int64_t ttl_ms, int64_t op_id);
int kvwb_create_ttl(kvwb_bucket *bucket, const char *key, const void *data, size_t len,
                    int64_t ttl_ms, int64_t op_id);
int kvwb_update_ttl(kvwb_bucket *bucket, const char *key, const void *data, size_t len,
                    const char *expected_version, int64_t ttl_ms, int64_t op_id);
int kvwb_purge_ttl(kvwb_bucket *bucket, const char *key, int64_t ttl_ms, int64_t op_id);
int kvwb_delete_ttl(kvwb_bucket *bucket, const char *key, int64_t ttl_ms, int64_t op_id);

/* ------------------------------------------------------- multi-key reads */
/**
 * kvw_get_many of `count` keys given as one string, each key followed by a
 * newline (keys cannot hold one): "a\nb\n". 0 (one record with `op_id`
 * will be queued: op KVW_OP_GET_MANY, revision = the snapshot's point,
 * entry_count entries) or a KVW_E* code; KVW_EBADKEY when the string does
 * not hold exactly `count` keys.
 */
int kvwb_get_many(kvwb_bucket *bucket, const char *keys, int64_t count, int64_t op_id);

/* -------------------------------------------------------- transactions */
/*
 * kvw.h, TRANSACTIONS. A kvwb_txn holds a reference to its bucket's client,
 * so handles may be freed in any order. Not thread-safe (one thread at a
 * time). The commit's record: op KVW_OP_TXN, `revision` the first write's
 * version, `txn_writes` their number (write i has revision + i); on a
 * refused expectation `key` names the key and `revision` its version.
 */
typedef struct kvwb_txn kvwb_txn;

kvwb_txn *kvwb_txn_new(void);
/** kvw_txn_new on `bucket`: 0, KVW_EINVAL (NULL, unopened, opened twice), KVW_ENOTSUP… */
int kvwb_txn_open(kvwb_txn *txn, kvwb_bucket *bucket);
void kvwb_txn_free(kvwb_txn *txn); /* NULL ok; drops uncommitted writes */
/* The kvw_txn_* adds; versions as text (KVW_EBADVERSION when malformed). */
int kvwb_txn_put(kvwb_txn *txn, const char *key, const void *data, size_t len);
int kvwb_txn_create(kvwb_txn *txn, const char *key, const void *data, size_t len);
int kvwb_txn_update(kvwb_txn *txn, const char *key, const void *data, size_t len,
                    const char *expected_version);
int kvwb_txn_delete(kvwb_txn *txn, const char *key);
int kvwb_txn_delete_with_version(kvwb_txn *txn, const char *key, const char *expected_version);
/** Writes added since it was opened or last committed; KVW_EINVAL for NULL/unopened. */
int kvwb_txn_len(kvwb_txn *txn);
/** kvw_txn_commit: 0 (one record with `op_id` will be queued; the txn is
 *  empty again) or a KVW_E* code (no record; it keeps its writes). */
int kvwb_txn_commit(kvwb_txn *txn, int64_t op_id);

/* -------------------------------------------------------- blocking calls */
/*
 * A blocking call (kvw.h, BLOCKING CALLS): its outcome goes from the thread
 * that learns it straight to the caller of kvwb_call_wait, bypassing the
 * queue and the dispatcher. One op per kvwb_call at a time; reusable.
 */
typedef struct kvwb_call kvwb_call;

/** An idle call; NULL when out of memory. */
kvwb_call *kvwb_call_new(void);
/** Frees (NULL ok); never blocks: a pending op's outcome is dropped when it ends. */
void kvwb_call_free(kvwb_call *call);
/**
 * Submits op `op` (KVW_OP_*) like the kvwb_* submit of that op: `version`
 * is the expected version (update, delete_with_version) or the version a
 * read must see at least (get, get_entry; NULL or "": any); `ttl_ms` 0 sends no
 * TTL, anything else goes to the op's _ttl form. 0, or the submit's
 * negative KVW_E* code (then no outcome will come).
 */
int kvwb_call_start(kvwb_call *call, kvwb_bucket *bucket, int op, const char *key, const void *data,
                    size_t len, const char *version, int64_t ttl_ms);
/**
 * Waits up to `timeout_ms` (-1: until the op ends). 1: ended (kvwb_call_result
 * has it); 0: still pending; KVW_EINVAL: NULL or nothing started. The Ruby
 * module releases the GVL while it waits (bindings/ruby/kvw_ruby.i).
 */
int kvwb_call_wait(kvwb_call *call, int timeout_ms);
/** Commits `txn` as a blocking call on `call` (kvwb_txn_commit's codes). */
int kvwb_call_commit(kvwb_call *call, kvwb_txn *txn);
/** kvwb_get_many as a blocking call on `call`. */
int kvwb_call_get_many(kvwb_call *call, kvwb_bucket *bucket, const char *keys, int64_t count);
/** The ended op's outcome as a new record (op_id 0); NULL when out of memory
 *  or not ended. The caller owns it: kvwb_completion_free. */
struct kvwb_completion *kvwb_call_result(kvwb_call *call);

/* ---------------------------------------------------------- completions */

/**
 * One op's outcome: a deep copy of kvw_result in a single allocation
 * (free() alone releases it). Read-only.
 */
typedef struct kvwb_completion {
    int64_t op_id;        /**< as given to the submit function */
    int status;           /**< KVW_OK or a negative KVW_E* code */
    int op;               /**< KVW_OP_* */
    int server_error;     /**< JetStream err_code, 0 if none */
    int entry_op;         /**< reads: KVW_ENTRY_*; writes: KVW_ENTRY_NONE */
    int64_t revision;     /**< the version as a NATS revision; 0 if unknown */
    int64_t value_len;    /**< reads: value length */
    int64_t ttl_ms;       /**< reads: the record's TTL in ms, 0 none, KVW_TTL_NEVER */
    char version[KVW_VERSION_STRLEN]; /**< kvw_version_format text: "42", "unknown" */
    const char *key;      /**< the op's key; never NULL */
    const char *message;  /**< human-readable outcome; never NULL */
    const char *value;    /**< value_len bytes (NUL bytes allowed) + a NUL; never NULL */
    int64_t txn_writes;   /**< KVW_OP_TXN committed: its writes, at revision, revision + 1… */
    int64_t entry_count;  /**< KVW_OP_GET_MANY on success: one entry per key (kvwb_completion_entry) */
    struct kvwb_completion *entries_; /**< internal: the entries, freed with the record */
} kvwb_completion;

/** Entry i of a KVW_OP_GET_MANY record (0 <= i < entry_count): a record of
 *  its own (op KVW_OP_GET_ENTRY, status KVW_OK or KVW_ENOTFOUND, key,
 *  version, entry_op, value, ttl), owned by `completion`: valid until it
 *  is freed. NULL when out of range. */
const kvwb_completion *kvwb_completion_entry(const kvwb_completion *completion, int64_t i);

void kvwb_completion_free(kvwb_completion *completion); /* NULL ok */

/* -------------------------------------------------------- version text */
/* Versions cross the boundary as kvw's stable text form (and as an int64
 * revision for NATS), never as uint64 or the token struct. */

/** Text for revision `revision` ("42"); "unknown" for revision <= 0.
 *  Caller frees with free(); NULL when out of memory. */
char *kvwb_version_from_revision(int64_t revision);
/** The revision of a version text: > 0, 0 for "unknown", KVW_EBADVERSION for
 *  malformed text or a token that is no revision in int64 range, KVW_EINVAL for NULL. */
int64_t kvwb_version_revision(const char *version);
/** 0 if `version` parses, else KVW_EBADVERSION (KVW_EINVAL for NULL). */
int kvwb_version_check(const char *version);
/** 1 if `version` is the unknown token, 0 if not, KVW_EBADVERSION / KVW_EINVAL. */
int kvwb_version_is_unknown(const char *version);
/** 1 if both name the same token, 0 if not, KVW_EBADVERSION / KVW_EINVAL. */
int kvwb_version_equal(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif /* KVW_BINDING_H */
