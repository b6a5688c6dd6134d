/*
 * kvw — asynchronous writes to NATS JetStream Key-Value buckets.
 *
 * Plain C99 (also valid C++). Everything here is part of the stable C ABI:
 * handles are opaque, options structs carry a version field, and only the
 * library produces kvw_result, so it may grow at its end in later minor
 * releases without breaking callers.
 *
 * THE COMPLETION CONTRACT
 *   Every submit function (kvw_put … kvw_get_entry) is non-blocking: it
 *   validates and copies its arguments, queues the op and returns 0 or a
 *   negative KVW_E* code. If and only if it returned 0, its callback runs
 *   exactly once: on success, on refusal, on timeout, on connection loss and
 *   at close (then with KVW_ECLOSED). Everything the callback receives is
 *   borrowed and valid only while it runs.
 *
 * THREADS
 *   Every function may be called from any thread at the same time. Callbacks
 *   run one at a time, on the thread chosen by kvw_client_options.delivery:
 *     KVW_DELIVERY_THREAD (default) a thread owned by this client, never a
 *                                   nats.c thread;
 *     KVW_DELIVERY_LIBUV            the thread running the given uv_loop_t
 *                                   (see <kvw/kvw_uv.h>);
 *     KVW_DELIVERY_POLL             the thread calling kvw_client_poll().
 *   A callback may submit new ops and may close or free the client or a
 *   bucket; a close or free requested inside a callback takes effect when
 *   the callback returns. Writes on the same key submitted from one thread
 *   take effect in submission order (ops behind a kvw_create on its key wait
 *   until the create, which may take several round trips, has finished).
 *   A read sees every write whose callback ran before the read was
 *   submitted, also on a replicated bucket (see READS); a read submitted
 *   while a write on its key is still in flight may or may not see it
 *   (nats-server 2.10+ stores writes asynchronously, so a read can overtake
 *   them).
 *
 * ERRORS
 *   Negative KVW_E* codes; kvw_strerror() and kvw_err_name() describe them.
 *   There is no thread-local "last error": an op's outcome travels in its
 *   kvw_result. Out-parameters are set to NULL when a function fails.
 */
#ifndef KVW_KVW_H
#define KVW_KVW_H

#include <stddef.h>
#include <stdint.h>

#include "kvw_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define KVW_VERSION_MAJOR 0
#define KVW_VERSION_MINOR 2
#define KVW_VERSION_PATCH 0
#define KVW_VERSION_STRING "0.2.0"
/** The header's version as one number: major * 10000 + minor * 100 + patch. */
#define KVW_VERSION_NUMBER \
    (KVW_VERSION_MAJOR * 10000 + KVW_VERSION_MINOR * 100 + KVW_VERSION_PATCH)

/** The linked library's version number (same encoding as KVW_VERSION_NUMBER). */
KVW_API int kvw_library_version(void);
/** The linked library's version as text, e.g. "0.1.0". Static storage. */
KVW_API const char *kvw_library_version_string(void);
/**
 * 0 when the library linked at run time can serve a program compiled with a
 * header of version `header_version` (same major, library minor >= header
 * minor), else KVW_EINVAL. Use KVW_CHECK_VERSION().
 */
KVW_API int kvw_library_check_version(int header_version);
#define KVW_CHECK_VERSION() kvw_library_check_version(KVW_VERSION_NUMBER)

/* ----------------------------------------------------------------- errors */

typedef enum kvw_error {
    KVW_OK = 0,
    KVW_EINVAL = -1,       /**< invalid argument (NULL, bad option value…) */
    KVW_EBADKEY = -2,      /**< key is not a valid NATS KV key */
    KVW_EBADNAME = -3,     /**< bucket name is not [A-Za-z0-9_-]+ */
    KVW_EBADVERSION = -4,  /**< version token unknown or not a revision */
    KVW_ETOOBIG = -5,      /**< value larger than the server or bucket accepts */
    KVW_EEXIST = -6,       /**< create: the key holds a live value */
    KVW_ECONFLICT = -7,    /**< expected version is not the key's last (JetStream 10071, or 10164 on clusters) */
    KVW_ENOTFOUND = -8,    /**< get: no live value; get_entry: the key has no record */
    KVW_ETIMEDOUT = -9,    /**< no answer in time: the write may have landed */
    KVW_ENOTCONN = -10,    /**< no connection to a server, or no JetStream responder until the op's deadline (restart, leader election); nothing was stored */
    KVW_ENOBUCKET = -11,   /**< the bucket does not exist */
    KVW_EFULL = -12,       /**< the bucket or server storage is full */
    KVW_ECLOSED = -13,     /**< client or bucket closed; pending ops end with this */
    KVW_EBUSY = -14,       /**< in-flight window full: retry after completions */
    KVW_ENOMEM = -15,      /**< out of memory */
    KVW_EAUTH = -16,       /**< authentication failed */
    KVW_EPERM = -17,       /**< the server refused: permission denied */
    KVW_ETLS = -18,        /**< TLS set-up or handshake failed */
    KVW_ESERVER = -19,     /**< other server/JetStream error; see server_error */
    KVW_EINTERNAL = -20,   /**< unexpected client-side failure */
    KVW_ENOTSUP = -21,     /**< the server or bucket cannot do this (kvw_bucket_feature_status says why) */
    KVW_EBADTTL = -22      /**< TTL below 1 s, not whole seconds, or too large (JetStream 10165) */
} kvw_error;

/** A sentence describing `code`. Static storage; never NULL. */
KVW_API const char *kvw_strerror(int code);
/** The code's name, e.g. "KVW_ECONFLICT". Static storage; never NULL. */
KVW_API const char *kvw_err_name(int code);
/** 1 if repeating the same op later may succeed (timeout, not connected, busy). */
KVW_API int kvw_err_is_retryable(int code);
/**
 * 1 if a write that ended with `code` may nevertheless have been stored:
 * KVW_ETIMEDOUT, and KVW_ECLOSED for a write cancelled at close after it was
 * sent. Read the key back before deciding.
 */
KVW_API int kvw_err_outcome_unknown(int code);

/* --------------------------------------------------------- version tokens */

#define KVW_VERSION_TOKEN_MAX 15
/** Room kvw_version_format() needs, terminating NUL included. */
#define KVW_VERSION_STRLEN 40

/**
 * An opaque version token, copied by value. For NATS it holds the KV
 * revision (the stream sequence, increasing across the whole bucket) as
 * 8 big-endian bytes. len == 0 means "unknown". Unused bytes are zero, so
 * memcmp() equality works, but prefer kvw_version_equal().
 */
typedef struct kvw_version {
    uint8_t len;
    uint8_t bytes[KVW_VERSION_TOKEN_MAX];
} kvw_version;

/** The unknown token (all zero). */
#define KVW_VERSION_UNKNOWN_INIT {0, {0}}

/** A token for revision `rev` (rev 0 gives the unknown token: NATS has no revision 0). */
KVW_API kvw_version kvw_version_from_u64(uint64_t rev);
/** 0 and *out = revision for a NATS token; KVW_EBADVERSION (and *out = 0) otherwise;
 *  KVW_EINVAL for a NULL argument. */
KVW_API int kvw_version_to_u64(const kvw_version *v, uint64_t *out);
/** 1 if `v` is NULL or unknown. */
KVW_API int kvw_version_is_unknown(const kvw_version *v);
/** 1 if both tokens are equal (two unknown tokens are equal); NULLs are never equal. */
KVW_API int kvw_version_equal(const kvw_version *a, const kvw_version *b);
/**
 * Writes the stable text form: the decimal revision for a NATS token
 * ("42"), "unknown" for the unknown token, "x:" + lowercase hex otherwise.
 * Returns the length written (without NUL) or KVW_EINVAL (NULL, or `size`
 * too small: KVW_VERSION_STRLEN always suffices).
 */
KVW_API int kvw_version_format(const kvw_version *v, char *buf, size_t size);
/** Parses the text form back. KVW_EBADVERSION (and *out = unknown) on malformed text. */
KVW_API int kvw_version_parse(kvw_version *out, const char *text);

/* ---------------------------------------------------------------- handles */

/** One NATS connection + JetStream context + completion queue. */
typedef struct kvw_client kvw_client;
/** One KV bucket reached through a client. */
typedef struct kvw_bucket kvw_bucket;

/* ---------------------------------------------------------- client options */

typedef enum kvw_delivery {
    KVW_DELIVERY_THREAD = 0, /**< a delivery thread owned by the client */
    KVW_DELIVERY_LIBUV = 1,  /**< the application's libuv loop (kvw_uv.h) */
    KVW_DELIVERY_POLL = 2    /**< inside kvw_client_poll(); kvw_client_fd() to wait */
} kvw_delivery;

/* Version 2 (kvw 0.2) added resend_after_ms. */
#define KVW_CLIENT_OPTIONS_VERSION 2

/**
 * Connection options. Strings are copied by kvw_client_open(). NULL strings
 * and zero numbers mean the default named in brackets, so a zeroed struct
 * with only `version` set is valid.
 */
typedef struct kvw_client_options {
    unsigned int version;           /**< KVW_CLIENT_OPTIONS_VERSION */
    const char *servers;            /**< comma-separated URLs [nats://127.0.0.1:4222] */
    const char *name;               /**< connection name shown by the server [none] */
    const char *user;               /**< user name, with password [none] */
    const char *password;
    const char *token;              /**< authentication token [none] */
    const char *credentials_file;   /**< NATS .creds file (JWT + nkey seed) [none] */
    const char *tls_ca_file;        /**< CA to verify the server; implies TLS [none] */
    const char *tls_cert_file;      /**< client certificate, with tls_key_file [none] */
    const char *tls_key_file;
    int tls_required;               /**< 1: insist on TLS even without a CA file [0] */
    int64_t connect_timeout_ms;     /**< per connection attempt [2000] */
    int64_t op_timeout_ms;          /**< deadline of every op [5000]; "no responders" answers
                                         (no stream leader yet, JetStream restarting) are sent
                                         again with a backoff until it passes */
    uint32_t max_inflight;          /**< ops accepted but not yet completed [16384] */
    int max_reconnect;              /**< reconnect attempts; -1 forever, KVW_NO_RECONNECT never [60] */
    int64_t reconnect_wait_ms;      /**< pause between attempts to one server [2000] */
    kvw_delivery delivery;          /**< where callbacks run [KVW_DELIVERY_THREAD] */
    void *uv_loop;                  /**< uv_loop_t* for KVW_DELIVERY_LIBUV */
    /* ---- version 2 */
    /** Idempotent resends. Every write carries a Nats-Msg-Id unique to this
     *  client and op; a write whose ack has not come after this long (a lost
     *  connection, a server restart, a leader change) is sent again with the
     *  same id until op_timeout_ms has passed, and the bucket's stream stores
     *  it at most once within its duplicate window. So an op ends with its real
     *  outcome (OK at the version first stored, or the real conflict) and
     *  KVW_ETIMEDOUT only when no answer came before the deadline.
     *  What readers see: one more header per record, Nats-Msg-Id with
     *  13-23 characters (ordinary KV data for every client). A value within
     *  those bytes of the bucket's size limit is sent once without an id.
     *  A resend of a CAS (update, create, delete_with_version) that the
     *  server refuses as a conflict with its own first send (2.12+ check a
     *  CAS before the id on R1 buckets) is recognised by reading the record
     *  after the expected version: OK at that version. If another writer
     *  overwrote it meanwhile and the bucket no longer holds it, the op
     *  ends KVW_ECONFLICT although it landed.
     *  KVW_RESEND_NEVER: one send, no Nats-Msg-Id (kvw 0.1) [1000] */
    int64_t resend_after_ms;
} kvw_client_options;

/** max_reconnect value that turns reconnection off. */
#define KVW_NO_RECONNECT (-2)
/** resend_after_ms value that turns resends and write ids off. */
#define KVW_RESEND_NEVER (-1)

#define KVW_CLIENT_OPTIONS_INIT \
    {KVW_CLIENT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
     0, 2000, 5000, 16384, 60, 2000, KVW_DELIVERY_THREAD, NULL, 1000}

/*
 * OPTIONS VERSIONS
 *   Options structs grow at their end, and each growth raises its
 *   KVW_*_OPTIONS_VERSION. A program states the version it was compiled with
 *   (the `version` field, set by _INIT or _init); the library reads only that
 *   version's fields and uses defaults for the rest, so a program built
 *   against an older header keeps working with a newer library.
 *
 *   kvw_*_options_init_version(opts, version) fills the fields of `version`
 *   (1 .. the library's current) and sets opts->version; KVW_EINVAL for NULL
 *   or a version the library does not know. In C, kvw_*_options_init(opts)
 *   is a macro for the version of the header you compile with. The exported
 *   functions of those names (reached by dlopen/FFI, or with the name in
 *   parentheses) are the 0.1 ones and fill version 1.
 */

/** Fills `opts` like KVW_CLIENT_OPTIONS_INIT for `version`. KVW_EINVAL on NULL / unknown version. */
KVW_API int kvw_client_options_init_version(kvw_client_options *opts, unsigned int version);
/** 0.1's entry point: fills version 1. */
KVW_API int(kvw_client_options_init)(kvw_client_options *opts);
#define kvw_client_options_init(opts) \
    kvw_client_options_init_version((opts), KVW_CLIENT_OPTIONS_VERSION)

/* ---------------------------------------------------------------- clients */

/**
 * Connects (blocking, up to connect_timeout_ms per server) and starts
 * delivery. `opts` may be NULL for defaults. In KVW_DELIVERY_LIBUV mode call
 * it on the loop's thread (it initialises a uv_async_t there).
 * Errors: KVW_EINVAL (bad options), KVW_ENOTCONN (no server reachable or
 * answering in time, unreadable credentials file), KVW_EAUTH, KVW_ETLS,
 * KVW_ENOMEM.
 */
KVW_API int kvw_client_open(kvw_client **out, const kvw_client_options *opts);

/**
 * Closes the client: new submits fail with KVW_ECLOSED, every op not yet
 * completed completes with KVW_ECLOSED (a write already sent may have
 * landed: see kvw_err_outcome_unknown), and the connection is closed.
 * Does not wait for the server. Idempotent. Inside a callback the close
 * happens when the callback returns.
 * Where the cancelled ops' callbacks run: THREAD mode on the delivery thread
 * (close waits for them unless called from a callback); POLL mode on the
 * thread calling close; LIBUV mode on the loop thread, after which kvw's
 * handle is closed so uv_run() can return.
 * Buckets of a closed client refuse new ops with KVW_ECLOSED.
 */
KVW_API int kvw_client_close(kvw_client *client);

/**
 * Closes (as kvw_client_close) and releases the handle. NULL is accepted.
 * Buckets stay valid handles until freed. In LIBUV mode memory is released
 * once the loop has closed kvw's handle, so keep running the loop.
 */
KVW_API void kvw_client_free(kvw_client *client);

/**
 * POLL mode: a file descriptor that is readable while completions are
 * waiting. Owned by the client; do not close or read it. KVW_EINVAL in the
 * other modes.
 */
KVW_API int kvw_client_fd(kvw_client *client);

/**
 * POLL mode: waits up to `timeout_ms` (0: do not wait, -1: forever) for
 * completions and runs their callbacks on this thread. Returns how many
 * callbacks ran (>= 0), or KVW_EINVAL (not POLL mode) / KVW_ECLOSED (closed
 * and nothing left to deliver).
 */
KVW_API int kvw_client_poll(kvw_client *client, int timeout_ms);

/**
 * Waits until every op accepted so far has its outcome (its callback is
 * queued or has run), at most `timeout_ms` (>= 0), then closes the client as
 * kvw_client_close does. New submits fail with KVW_ECLOSED from the start of
 * the call. With resends on, ops whose ack was lost get their real outcome
 * meanwhile instead of KVW_ECLOSED. Returns KVW_OK when nothing was left to
 * cancel, KVW_ETIMEDOUT when ops still in flight at the end were cancelled
 * (KVW_ECLOSED, outcome unknown), KVW_EINVAL (NULL, negative timeout).
 * Blocks the calling thread; inside a callback it returns at once with
 * KVW_EINVAL (the ops it would wait for may need this callback to return).
 */
KVW_API int kvw_client_drain(kvw_client *client, int64_t timeout_ms);

/** Number of ops accepted by this client whose callback has not yet returned. */
KVW_API int kvw_client_inflight(kvw_client *client);

/**
 * The version of the server the client is connected to now, encoded like
 * KVW_VERSION_NUMBER (2.11.3 -> 21103). It can change after a reconnect to
 * another server of a cluster. KVW_EINVAL (NULL), KVW_ENOTCONN (not
 * connected now) or KVW_ENOTSUP (this nats.c build does not tell).
 */
KVW_API int kvw_client_server_version(kvw_client *client);

/* ---------------------------------------------------------------- buckets */

typedef enum kvw_storage {
    KVW_STORAGE_FILE = 0,
    KVW_STORAGE_MEMORY = 1
} kvw_storage;

/*
 * READS
 *   kvw reads with direct gets, which any replica of a replicated bucket may
 *   answer, and replicas apply writes a little after the leader acked them.
 *   KVW_READ_CHECKED (the default) keeps, per key, the newest version any
 *   completed op of this client has seen (acks of writes, results of reads
 *   and conflicts); a direct get that comes back older is read again through
 *   the stream leader ($JS.API.STREAM.MSG.GET), and again for up to 0.8 s
 *   while the leader's answer is older too (a replica can apply a write
 *   before the leader does; a new leader can still be applying). So within
 *   one client a read submitted after an op's callback sees that op or
 *   something newer, and a key's reads never go back in time. A CAS a replicated stream refuses
 *   without the key's version (10164: another write to the key in flight)
 *   is checked at the leader too, so a conflict is never reported while
 *   reads still show the expected version. Cost, on buckets with replicas
 *   only (an R1 stream answers every read itself): a table lookup per op
 *   (512 KiB per bucket and client; exact for 32,768 keys, beyond that a
 *   key whose entry was dropped may be read at the leader needlessly, never
 *   let a stale read through) and a second round trip for reads that came
 *   back stale. Limits: writes of other clients this client has not seen
 *   (hand their version over with kvw_get_at_least), and a deposed leader
 *   that has not yet noticed or a version the servers lost (nats-server
 *   2.9 at a leader kill): the leader's answer is taken as is after 0.8 s. The replica count
 *   is read at kvw_bucket_open. KVW_READ_DIRECT skips the check (may go back
 *   in time on a replicated bucket). KVW_READ_LEADER sends every read to
 *   the leader (what a bucket without allow_direct gets anyway). Leader
 *   reads need permission to publish to $JS.API.STREAM.MSG.GET.KV_<bucket>
 *   besides $JS.API.DIRECT.GET.KV_<bucket>.> (without it a read that needs
 *   the leader ends KVW_EPERM). No
 *   nats-server up to 2.15.3 implements the min_last_seq field of direct
 *   gets, so kvw does not use it.
 */
typedef enum kvw_read_mode {
    KVW_READ_CHECKED = 0,
    KVW_READ_DIRECT = 1,
    KVW_READ_LEADER = 2
} kvw_read_mode;

/* Version 2 (kvw 0.2) added allow_ttl and limit_marker_ttl_ms, version 3
 * (kvw 0.2) duplicate_window_ms, version 4 (kvw 0.2) read_mode, version 5
 * (kvw 0.2) allow_atomic, version 6 (kvw 0.2) allow_batched and bulk. */
#define KVW_BUCKET_OPTIONS_VERSION 6

/**
 * Fields up to duplicate_window_ms are only used when the bucket is created;
 * an existing bucket opens as it is (see kvw_bucket_enable_ttl to change
 * one). read_mode applies to this handle.
 */
typedef struct kvw_bucket_options {
    unsigned int version;     /**< KVW_BUCKET_OPTIONS_VERSION */
    int create_if_missing;    /**< 1: create the bucket when absent [0] */
    int history;              /**< values kept per key, 1..64 [1] */
    int64_t max_age_ms;       /**< entries expire after this, 0 = never [0] */
    int64_t max_bytes;        /**< bucket size limit, 0 = unlimited [0] */
    int32_t max_value_size;   /**< largest value, 0 = server limit [0] */
    int replicas;             /**< stream replicas, 1..5 [1] */
    kvw_storage storage;      /**< [KVW_STORAGE_FILE] */
    /* ---- version 2 */
    /** 1: keys may carry their own TTL (stream allow_msg_ttl; nats-server
     *  2.11+, else KVW_ENOTSUP before any request) [0] */
    int allow_ttl;
    /** > 0: when a key's last value ages out (max_age or its TTL) the server
     *  writes a PURGE marker that lives this long, so readers and kvw_create
     *  see the key go (stream subject_delete_marker_ttl, nats.go's
     *  LimitMarkerTTL). Whole seconds, >= 1000; implies allow_ttl [0] */
    int64_t limit_marker_ttl_ms;
    /* ---- version 3 */
    /** How long the server remembers write ids (Nats-Msg-Id) to drop a
     *  resent write it already stored (stream duplicate_window). kvw resends
     *  only within it, so keep it above op_timeout_ms. The server holds each
     *  id of the window in memory (about 250 bytes: 10,000 writes/s need
     *  75 MB at 30 s) [0: 30 s, or max_age_ms when that is shorter; buckets
     *  made by other clients usually have 2 minutes] */
    int64_t duplicate_window_ms;
    /* ---- version 4 */
    /** How this handle's reads see replicas (READS above) [KVW_READ_CHECKED] */
    kvw_read_mode read_mode;
    /* ---- version 5 */
    /** 1: the bucket takes transactions (TRANSACTIONS below; stream
     *  allow_atomic, nats-server 2.12+, else KVW_ENOTSUP before any
     *  request). Used only when the bucket is created [0] */
    int allow_atomic;
    /* ---- version 6 */
    /** 1: the bucket takes fast-ingest batches (stream allow_batched;
     *  nats-server 2.14+, else KVW_ENOTSUP before any request). Used only
     *  when the bucket is created [0] */
    int allow_batched;
    /** 1: this handle's kvw_put, kvw_delete and kvw_purge go through
     *  fast-ingest batches (BULK WRITES below); needs KVW_FEATURE_FAST_BATCH,
     *  else kvw_bucket_open fails with KVW_ENOTSUP [0] */
    int bulk;
} kvw_bucket_options;

#define KVW_BUCKET_OPTIONS_INIT \
    {KVW_BUCKET_OPTIONS_VERSION, 0, 1, 0, 0, 0, 1, KVW_STORAGE_FILE, 0, 0, 0, KVW_READ_CHECKED, 0, 0, 0}

/** Fills `opts` like KVW_BUCKET_OPTIONS_INIT for `version`. KVW_EINVAL on NULL / unknown version. */
KVW_API int kvw_bucket_options_init_version(kvw_bucket_options *opts, unsigned int version);
/** 0.1's entry point: fills version 1. */
KVW_API int(kvw_bucket_options_init)(kvw_bucket_options *opts);
#define kvw_bucket_options_init(opts) \
    kvw_bucket_options_init_version((opts), KVW_BUCKET_OPTIONS_VERSION)

/**
 * Opens bucket `name` (blocking: one JetStream request, two when it is
 * created). `opts` may be NULL. Do not call from a callback.
 * Errors: KVW_EINVAL, KVW_EBADNAME, KVW_ENOBUCKET, KVW_ECLOSED,
 * KVW_ETIMEDOUT, KVW_ENOTCONN, KVW_EPERM, KVW_ESERVER, KVW_ENOMEM.
 */
KVW_API int kvw_bucket_open(kvw_bucket **out, kvw_client *client, const char *name,
                            const kvw_bucket_options *opts);
/** Refuses new ops on this bucket (KVW_ECLOSED); pending ops complete normally. */
KVW_API int kvw_bucket_close(kvw_bucket *bucket);
/** Closes and releases the handle. NULL is accepted. Pending ops still complete. */
KVW_API void kvw_bucket_free(kvw_bucket *bucket);
/** The bucket's name (owned by the bucket). */
KVW_API const char *kvw_bucket_name(const kvw_bucket *bucket);
/** Largest value kvw_put accepts on this bucket, in bytes. */
KVW_API int64_t kvw_bucket_max_value_size(const kvw_bucket *bucket);

/*
 * FEATURES
 *   What a bucket can do depends on the server and on the bucket's stream
 *   configuration, read at kvw_bucket_open. An op or option that needs a
 *   missing feature is refused with KVW_ENOTSUP before any I/O.
 *
 *   feature                   needs
 *   KVW_FEATURE_TTL           nats-server 2.11+ and a bucket with TTL support
 *                             (allow_ttl / kvw_bucket_enable_ttl): kvw_create_ttl,
 *                             kvw_purge_ttl
 *   KVW_FEATURE_TTL_ON_WRITE  KVW_FEATURE_TTL and history 1: kvw_put_ttl,
 *                             kvw_update_ttl, kvw_delete_ttl (with older
 *                             revisions kept, a record's expiry would bring
 *                             the one before it back)
 *   KVW_FEATURE_LIMIT_MARKERS 2.11+ and limit_marker_ttl_ms set: aged-out keys
 *                             leave a PURGE marker
 *   KVW_FEATURE_ATOMIC_BATCH  2.12+ and stream allow_atomic (bucket option
 *                             allow_atomic): transactions (kvw_txn_*)
 *   KVW_FEATURE_FAST_BATCH    2.14+ and stream allow_batched (bucket option
 *                             allow_batched): bulk handles (BULK WRITES)
 *   KVW_FEATURE_GET_MANY      2.11+, direct gets (allow_direct) and a read mode
 *                             other than KVW_READ_LEADER: kvw_get_many
 */
typedef enum kvw_feature {
    KVW_FEATURE_TTL = 1,
    KVW_FEATURE_TTL_ON_WRITE = 2,
    KVW_FEATURE_LIMIT_MARKERS = 3,
    KVW_FEATURE_ATOMIC_BATCH = 4,
    KVW_FEATURE_FAST_BATCH = 5,
    KVW_FEATURE_GET_MANY = 6 /**< since 0.2 */
} kvw_feature;

/** 1 if the bucket has `feature`, 0 if not, KVW_EINVAL (NULL, unknown feature). */
KVW_API int kvw_bucket_supports(const kvw_bucket *bucket, int feature);
/**
 * A sentence on `feature` for this bucket: "supported", or what is missing
 * ("per-key TTL needs nats-server 2.11 or newer (connected: 2.9.10)"). Static
 * storage or owned by the bucket until it is freed; never NULL.
 */
KVW_API const char *kvw_bucket_feature_status(const kvw_bucket *bucket, int feature);
/** Static name of a feature ("ttl", "ttl_on_write"…), "unknown" otherwise. */
KVW_API const char *kvw_feature_name(int feature);
/**
 * Turns per-key TTL on for an existing bucket (stream allow_msg_ttl, which
 * the server never turns off again) and, when limit_marker_ttl_ms > 0, limit
 * markers. Blocking (two JetStream requests); do not call from a callback.
 * Other handles of the bucket see it when opened again.
 * Errors: KVW_EINVAL, KVW_EBADTTL (marker TTL), KVW_ENOTSUP (server older
 * than 2.11), KVW_ECLOSED, KVW_ETIMEDOUT, KVW_ENOTCONN, KVW_EPERM, KVW_ESERVER.
 */
KVW_API int kvw_bucket_enable_ttl(kvw_bucket *bucket, int64_t limit_marker_ttl_ms);

/* -------------------------------------------------------------------- ops */

typedef enum kvw_op {
    KVW_OP_PUT = 1,
    KVW_OP_CREATE = 2,
    KVW_OP_UPDATE = 3,
    KVW_OP_DELETE = 4,
    KVW_OP_DELETE_WITH_VERSION = 5,
    KVW_OP_PURGE = 6,
    KVW_OP_GET = 7,
    KVW_OP_GET_ENTRY = 8,
    KVW_OP_TXN = 9,     /**< a transaction's commit (since 0.2) */
    KVW_OP_GET_MANY = 10 /**< kvw_get_many (since 0.2) */
} kvw_op;

/** What the latest record of a key is (reads only). */
typedef enum kvw_entry_op {
    KVW_ENTRY_NONE = 0,   /**< not a read, or nothing found */
    KVW_ENTRY_PUT = 1,    /**< a value (possibly empty: a delete_with_version tombstone) */
    KVW_ENTRY_DELETE = 2, /**< a kvw_delete marker */
    KVW_ENTRY_PURGE = 3   /**< a kvw_purge marker */
} kvw_entry_op;

/** The outcome of one op. Borrowed: valid only during the callback. */
typedef struct kvw_result {
    int status;              /**< KVW_OK or a negative KVW_E* code */
    const char *message;     /**< human-readable outcome; never NULL */
    kvw_op op;               /**< which op this is */
    const char *key;         /**< the op's key (KVW_OP_TXN: the key a refusal names, else ""; KVW_OP_GET_MANY: "") */
    /** Writes: the new version. KVW_ECONFLICT/KVW_EEXIST: the key's current
     *  version when the server said (else unknown). Reads: the record's
     *  version (also for the DEL/PURGE marker behind a KVW_ENOTFOUND get).
     *  KVW_OP_TXN: the first write's; KVW_OP_GET_MANY: the snapshot's point. */
    kvw_version version;
    int server_error;        /**< JetStream err_code (10071…), 0 if none */
    kvw_entry_op entry_op;   /**< reads: kind of the latest record */
    const void *value;       /**< reads: value bytes (never NULL) */
    size_t value_len;        /**< reads: value length */
    /** Reads: the record's own TTL in ms (its Nats-TTL header), 0 when it
     *  has none, KVW_TTL_NEVER for "never". (Since 0.2.) */
    int64_t ttl_ms;
    /** KVW_OP_TXN: the transaction's number of writes (see
     *  kvw_txn_write_version); 0 for other ops. (Since 0.2.) */
    size_t txn_writes;
    /** KVW_OP_GET_MANY on KVW_OK: one result per key asked for, in that
     *  order (MULTI-KEY READS); NULL and 0 otherwise. (Since 0.2.) */
    const struct kvw_result *entries;
    size_t entry_count;
} kvw_result;

/** Runs exactly once per accepted op; see THE COMPLETION CONTRACT above. */
typedef void (*kvw_write_cb)(const kvw_result *result, void *user_data);
typedef void (*kvw_read_cb)(const kvw_result *result, void *user_data);

/*
 * Submit functions. Return 0 when accepted (the callback will run once) or,
 * without calling the callback: KVW_EINVAL (NULL bucket/key/callback, NULL
 * value with len > 0, a kvw_waiter with an op pending), KVW_EBADKEY,
 * KVW_EBADVERSION, KVW_ETOOBIG, KVW_EBUSY, KVW_ECLOSED, KVW_ENOMEM; the
 * _ttl forms also KVW_EBADTTL and KVW_ENOTSUP. Keys: 1..KVW_KEY_MAX bytes of
 * [-/_=.a-zA-Z0-9], no leading or trailing '.', no "..". `value` is copied.
 */
#define KVW_KEY_MAX 1024

/** Stores `value` under `key`. Success: the new version. */
KVW_API int kvw_put(kvw_bucket *bucket, const char *key, const void *value, size_t len,
                    kvw_write_cb cb, void *user_data);
/**
 * Stores `value` only if `key` has no live value: never written, or deleted
 * / purged with kvw_delete / kvw_purge. KVW_EEXIST when it holds a value,
 * including the empty-value tombstone of kvw_delete_with_version. Two racing
 * creators: exactly one wins.
 */
KVW_API int kvw_create(kvw_bucket *bucket, const char *key, const void *value, size_t len,
                       kvw_write_cb cb, void *user_data);
/** Stores `value` only if the key's latest version is `expected`; else KVW_ECONFLICT. */
KVW_API int kvw_update(kvw_bucket *bucket, const char *key, const void *value, size_t len,
                       const kvw_version *expected, kvw_write_cb cb, void *user_data);
/** Writes a DEL marker (best effort: succeeds whether or not the key existed). */
KVW_API int kvw_delete(kvw_bucket *bucket, const char *key, kvw_write_cb cb, void *user_data);
/**
 * Logical delete under CAS: writes an empty value only if the key's latest
 * version is `expected`, else KVW_ECONFLICT (also for a key that never
 * existed). kvw_create keeps refusing the key until someone updates over the
 * tombstone's version.
 */
KVW_API int kvw_delete_with_version(kvw_bucket *bucket, const char *key,
                                    const kvw_version *expected, kvw_write_cb cb,
                                    void *user_data);
/** Writes a PURGE marker that drops the key's history. */
KVW_API int kvw_purge(kvw_bucket *bucket, const char *key, kvw_write_cb cb, void *user_data);
/**
 * Reads the latest value. KVW_ENOTFOUND when the key was never written, is
 * deleted or purged, or holds an empty value.
 */
KVW_API int kvw_get(kvw_bucket *bucket, const char *key, kvw_read_cb cb, void *user_data);
/**
 * Reads the latest record as it is: entry_op says PUT/DELETE/PURGE, empty
 * values included, with its version (for a CAS over a tombstone) and TTL.
 * A marker the server wrote itself (Nats-Marker-Reason, ADR-48) reads as
 * PURGE for MaxAge and Purge, DELETE for Remove.
 * KVW_ENOTFOUND only when the subject holds no record.
 */
KVW_API int kvw_get_entry(kvw_bucket *bucket, const char *key, kvw_read_cb cb,
                          void *user_data);
/**
 * kvw_get / kvw_get_entry that see at least version `min` of the key: a
 * version another process got from its write (read-your-writes across
 * processes). A direct get older than `min` is read again through the
 * stream leader, and asked again with backoff until the op's deadline while
 * the leader is behind too; then KVW_ETIMEDOUT ("has not reached version
 * N"; also what a version of another key or bucket gives). Otherwise as
 * kvw_get / kvw_get_entry (whose checks also apply). Submit errors as
 * kvw_get, plus KVW_EINVAL for a NULL `min` and KVW_EBADVERSION for an
 * unknown one. (Since 0.2.)
 */
KVW_API int kvw_get_at_least(kvw_bucket *bucket, const char *key, const kvw_version *min,
                             kvw_read_cb cb, void *user_data);
KVW_API int kvw_get_entry_at_least(kvw_bucket *bucket, const char *key, const kvw_version *min,
                                   kvw_read_cb cb, void *user_data);

/*
 * PER-KEY TTL (nats-server 2.11+, ADR-48): the record is removed by the
 * server `ttl_ms` after it was stored. `ttl_ms` is whole seconds, at least
 * 1000, at most KVW_TTL_MAX_MS, or KVW_TTL_NEVER (the record never expires,
 * even in a bucket with max_age); anything else is KVW_EBADTTL. Without
 * KVW_FEATURE_TTL (or KVW_FEATURE_TTL_ON_WRITE where noted) the submit
 * returns KVW_ENOTSUP. Otherwise they behave as the op without _ttl.
 * A key whose TTL ran out reads as KVW_ENOTFOUND and kvw_create succeeds on
 * it again (on buckets with limit markers the server leaves a PURGE marker).
 */
#define KVW_TTL_NEVER (-1)
#define KVW_TTL_MAX_MS (INT64_C(9223372036) * 1000)

/** kvw_create whose value expires: a lock or lease that frees itself. */
KVW_API int kvw_create_ttl(kvw_bucket *bucket, const char *key, const void *value, size_t len,
                           int64_t ttl_ms, kvw_write_cb cb, void *user_data);
/** kvw_update that sets a new TTL: renews a lease. Needs KVW_FEATURE_TTL_ON_WRITE. */
KVW_API int kvw_update_ttl(kvw_bucket *bucket, const char *key, const void *value, size_t len,
                           const kvw_version *expected, int64_t ttl_ms, kvw_write_cb cb,
                           void *user_data);
/** kvw_put whose value expires. Needs KVW_FEATURE_TTL_ON_WRITE. */
KVW_API int kvw_put_ttl(kvw_bucket *bucket, const char *key, const void *value, size_t len,
                        int64_t ttl_ms, kvw_write_cb cb, void *user_data);
/**
 * kvw_delete whose DEL marker goes away after `ttl_ms`, so markers of deleted
 * keys do not pile up. Needs KVW_FEATURE_TTL_ON_WRITE (with history > 1 use
 * kvw_purge_ttl: an expiring DEL marker would bring the value below it back).
 */
KVW_API int kvw_delete_ttl(kvw_bucket *bucket, const char *key, int64_t ttl_ms, kvw_write_cb cb,
                           void *user_data);
/** kvw_purge whose PURGE marker itself goes away after `ttl_ms` (nats.go PurgeTTL). */
KVW_API int kvw_purge_ttl(kvw_bucket *bucket, const char *key, int64_t ttl_ms, kvw_write_cb cb,
                          void *user_data);

/*
 * MULTI-KEY READS (since 0.2; KVW_FEATURE_GET_MANY: nats-server 2.11+)
 *   kvw_get_many reads the latest record of up to KVW_GET_MANY_MAX keys as
 *   of one point of the bucket's history: every write stored before it is
 *   seen, none stored after it, so the records are a consistent snapshot —
 *   the versions to expect in a transaction's updates (read-modify-write
 *   across keys). One callback (op KVW_OP_GET_MANY): on KVW_OK `version` is
 *   the point (the bucket's revision the snapshot is as of), `entries[i]`
 *   the record of keys[i] as kvw_get_entry reports it (status KVW_OK with
 *   entry_op PUT, DELETE or PURGE, its version, value and TTL; or
 *   KVW_ENOTFOUND when the key had no record then). On a replicated bucket
 *   with KVW_READ_CHECKED, a snapshot older than a version this client has
 *   seen for one of its keys is read again until the op's deadline.
 *   Submit errors: those of kvw_get, and KVW_EINVAL (NULL keys, count 0 or
 *   above KVW_GET_MANY_MAX), KVW_ENOTSUP (see the feature). A key asked for
 *   twice gets the same record twice.
 */
#define KVW_GET_MANY_MAX 1024
KVW_API int kvw_get_many(kvw_bucket *bucket, const char *const *keys, size_t count, kvw_read_cb cb,
                         void *user_data);

/*
 * BULK WRITES (since 0.2; nats-server 2.14+, bucket with KVW_FEATURE_FAST_BATCH)
 *   For loaders: a handle opened with the bucket option `bulk` sends its
 *   kvw_put, kvw_delete and kvw_purge (and their _ttl forms) as fast-ingest
 *   batches (ADR-50): no ack per write, the server acknowledges every few
 *   hundred writes and paces the sender. Submits, callbacks and the
 *   completion contract are those of the single ops:
 *   - KVW_OK once the server acknowledged a point at or past the write (all
 *     writes before it are stored too). `version` is exact for the last
 *     write of each batch and for a write sent alone; for the others it is
 *     unknown (revision 0): the server's periodic acks do not say it.
 *   - A write the server refuses fails with the single op's code (nothing
 *     stored); writes behind it that the server skipped are sent again in a
 *     new batch, in order.
 *   - KVW_ETIMEDOUT: no acknowledgement reached the write before its
 *     deadline (a server killed mid-batch): it may have been stored.
 *   A batch stays open while writes keep coming and commits when kvw has
 *   sent all it holds, so a loader's writes form long batches and a lone
 *   write is one message with one ack. A client's bulk handles send on a
 *   second connection it opens with the first of them, in nats.c's
 *   buffered mode: a batch's messages share their socket writes, and a lone
 *   write waits about 1 ms for nats.c's flusher. One batch per handle is open at a
 *   time; writes wait in kvw meanwhile (counted by max_inflight) and their
 *   deadline counts from their submit. A bulk handle's writes keep their
 *   order per key among themselves, not with its other ops (create, update,
 *   reads, transactions), which go as on any handle. On a replicated
 *   bucket a read may miss a bulk write whose version is unknown (READS
 *   needs the version to know a replica is behind): read with
 *   KVW_READ_LEADER there.
 */

/*
 * TRANSACTIONS (since 0.2; nats-server 2.12+, bucket with KVW_FEATURE_ATOMIC_BATCH)
 *   Several writes on one bucket, stored all together or not at all, with
 *   one callback: an atomic batch (ADR-50). Add writes to a kvw_txn, then
 *   kvw_txn_commit. Each write has the meaning of its single op, checked
 *   against the keys' versions before the transaction: create succeeds on a
 *   key without a live value (also over a DEL/PURGE marker), update and
 *   delete_with_version need the key's latest version to be `expected`.
 *   The commit's result (op KVW_OP_TXN):
 *   - KVW_OK: every write is stored. The writes have consecutive versions in
 *     the order they were added: `version` is the first's, `txn_writes`
 *     their number; kvw_txn_write_version(result, i) gives write i's.
 *   - KVW_ECONFLICT / KVW_EEXIST: nothing is stored; an expectation failed.
 *     `key` names the failing write's key and `version` that key's current
 *     version when the server's answer identifies it (else "" / unknown).
 *   - KVW_ETIMEDOUT: no answer to the commit in time: all or nothing was
 *     stored, never a part (read one of its keys to know which).
 *   - KVW_ENOTCONN (no JetStream responder until the op's deadline),
 *     KVW_ENOTSUP (the stream refused batches), KVW_EBUSY (the stream has
 *     too many batches in flight: 10210), KVW_ESERVER...: nothing stored.
 *   The completion contract holds for the commit as for any op (one
 *   callback, at the latest at its deadline or at close). A commit is not
 *   resent after a lost answer, and is not ordered behind single ops in
 *   flight on its keys. At most 32 of a client's commits are open on the
 *   server at once (it takes 50 per stream); later ones wait in kvw, in
 *   order, and their deadline counts from when they are sent. A kvw_txn is
 *   not thread-safe; it may be reused after a commit was accepted (it is
 *   then empty).
 */
typedef struct kvw_txn kvw_txn;
/** Most writes one transaction may hold (the server's batch limit). */
#define KVW_TXN_MAX_WRITES 1000

/**
 * A new empty transaction on `bucket` (which it keeps alive). KVW_EINVAL
 * (NULL), KVW_ENOTSUP (no KVW_FEATURE_ATOMIC_BATCH:
 * kvw_bucket_feature_status says why), KVW_ECLOSED, KVW_ENOMEM.
 */
KVW_API int kvw_txn_new(kvw_txn **out, kvw_bucket *bucket);
/** Frees `txn` (NULL ok); its uncommitted writes are dropped. */
KVW_API void kvw_txn_free(kvw_txn *txn);
/**
 * Add a write; `value` is copied. 0, or KVW_EINVAL (NULL txn/key/expected,
 * NULL value with len > 0, a CAS write (create, update,
 * delete_with_version) on a key this transaction already writes: the
 * server cannot check it), KVW_EBADKEY, KVW_EBADVERSION, KVW_ETOOBIG (value
 * too large, or KVW_TXN_MAX_WRITES reached), KVW_ENOMEM.
 */
KVW_API int kvw_txn_put(kvw_txn *txn, const char *key, const void *value, size_t len);
KVW_API int kvw_txn_create(kvw_txn *txn, const char *key, const void *value, size_t len);
KVW_API int kvw_txn_update(kvw_txn *txn, const char *key, const void *value, size_t len,
                           const kvw_version *expected);
KVW_API int kvw_txn_delete(kvw_txn *txn, const char *key);
KVW_API int kvw_txn_delete_with_version(kvw_txn *txn, const char *key, const kvw_version *expected);
/** Number of writes added since it was made or last committed (KVW_EINVAL for NULL). */
KVW_API int kvw_txn_len(const kvw_txn *txn);
/**
 * Commits asynchronously: 0 when accepted (the callback runs once; the
 * transaction is empty again), else, without a callback and keeping its
 * writes: KVW_EINVAL (NULL txn/callback, no writes, a kvw_waiter with an
 * op pending), KVW_EBUSY, KVW_ECLOSED, KVW_ENOMEM. kvw_waiter_callback
 * makes it a blocking call (BLOCKING CALLS below).
 */
KVW_API int kvw_txn_commit(kvw_txn *txn, kvw_write_cb cb, void *user_data);
/**
 * The version write `i` (0-based, in the order added) of a successful
 * commit got; the unknown token when `commit` is NULL, not a successful
 * KVW_OP_TXN result, or i >= its txn_writes.
 */
KVW_API kvw_version kvw_txn_write_version(const kvw_result *commit, size_t i);

/*
 * BLOCKING CALLS (since 0.2)
 *   A kvw_waiter makes any submit function above a blocking call: submit
 *   with kvw_waiter_callback as the callback and the waiter as user_data,
 *   then kvw_waiter_wait(). The outcome goes straight to the waiting thread
 *   from whichever thread learns it (nats.c's, kvw's timer, a closing
 *   thread), not through the delivery mode: no extra thread hop, and it
 *   works in every delivery mode, with nobody polling, and inside a
 *   callback. Blocking calls are not ordered with callbacks: one may return
 *   before callbacks of ops that ended earlier have run.
 *   Everything else is as for the op: the same checks at submit, the same
 *   outcome, the completion contract (the outcome always comes, at the
 *   latest at the op's deadline or at close), per-key order and reads.
 *   A waiter serves one op at a time (submitting a second op while one is
 *   pending is refused with KVW_EINVAL) and may be reused once that op has
 *   ended; any thread may use it, one at a time.
 */
typedef struct kvw_waiter kvw_waiter;

/** A new idle waiter. 0, KVW_EINVAL (NULL out) or KVW_ENOMEM. */
KVW_API int kvw_waiter_new(kvw_waiter **out);
/**
 * Frees `waiter` (NULL ok). Never blocks: when its op is still pending
 * (e.g. after a wait that timed out) the op keeps its course and the
 * waiter is freed when the op ends, its outcome unread.
 */
KVW_API void kvw_waiter_free(kvw_waiter *waiter);
/** The callback to submit with, the waiter as user_data. */
KVW_API void kvw_waiter_callback(const kvw_result *result, void *waiter);
/**
 * Waits up to `timeout_ms` (-1: until the op ends, 0: do not wait) for the
 * outcome of the op submitted with `waiter`. 1 when it has ended: *result
 * is its outcome, owned by the waiter until its next submit or free; 0 when
 * the timeout passed first (the op goes on: wait again or free the waiter);
 * KVW_EINVAL for NULL arguments or a waiter no accepted op was submitted
 * with (*result NULL in both cases).
 */
KVW_API int kvw_waiter_wait(kvw_waiter *waiter, int timeout_ms, const kvw_result **result);

/** 0 if `key` is a valid key, else KVW_EBADKEY (KVW_EINVAL for NULL). */
KVW_API int kvw_key_check(const char *key);
/** 0 if `name` is a valid bucket name, else KVW_EBADNAME (KVW_EINVAL for NULL). */
KVW_API int kvw_bucket_name_check(const char *name);
/** Static name of an op ("put", "create"…), "unknown" otherwise. */
KVW_API const char *kvw_op_name(int op);
/** Static name of an entry kind ("PUT", "DEL", "PURGE", "NONE"). */
KVW_API const char *kvw_entry_op_name(int entry_op);

#ifdef __cplusplus
}
#endif

#endif /* KVW_KVW_H */
