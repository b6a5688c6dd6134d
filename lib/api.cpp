// The C boundary: argument checks, handle casts, and no exception escapes.
#include "bucket.h"
#include "client.h"
#include "headers.h"
#include "keys.h"
#include "version.h"
#include "waiter.h"

#include <kvw/kvw.h>

#include <cstring>
#include <new>

struct kvw_client {
    std::shared_ptr<kvw::Client> impl;
};

struct kvw_bucket {
    std::shared_ptr<kvw::Bucket> impl;
};

struct kvw_txn {
    std::shared_ptr<kvw::Bucket> bucket;
    std::shared_ptr<kvw::Txn> writes;  // handed to the commit's op when it is accepted
};

namespace {

// Every entry point runs its body here: C callers never see a C++ exception.
template <typename F>
int guarded(F &&body)
{
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return KVW_ENOMEM;
    } catch (...) {
        return KVW_EINTERNAL;
    }
}

// Hands a new op, filled by `fill` (which may throw), to the bucket's client.
// A blocking call's waiter (one op per waiter) is armed first and disarmed
// when the submit is refused: then no outcome will come.
template <typename Fill>
int hand_over(kvw::Bucket &b, kvw_write_cb cb, void *user_data, Fill &&fill)
{
    kvw_waiter *w = cb == kvw_waiter_callback ? static_cast<kvw_waiter *>(user_data) : nullptr;
    if (cb == kvw_waiter_callback && (w == nullptr || !kvw::waiter_arm(w))) return KVW_EINVAL;
    const int rc = guarded([&]() -> int {
        std::unique_ptr<kvw::Op> op(new kvw::Op);
        op->cb = cb;
        op->user_data = user_data;
        fill(*op);
        return b.client().submit(std::move(op));
    });
    if (rc != KVW_OK && w != nullptr) kvw::waiter_disarm(w);
    return rc;
}

// A TTL for the _ttl ops (checked in submit); the ops of 0.1 pass none.
struct Ttl {
    bool set;
    int64_t ms;
};
constexpr Ttl kNoTtl{false, 0};

int submit(kvw_bucket *b, kvw_op kind, const char *key, const void *value, size_t len,
           const kvw_version *expected, kvw_write_cb cb, void *user_data, Ttl ttl = kNoTtl,
           const kvw_version *min_version = nullptr)
{
    if (b == nullptr || cb == nullptr || (value == nullptr && len > 0)) return KVW_EINVAL;
    int rc = kvw::check_key(key);
    if (rc != KVW_OK) return rc;
    uint64_t rev = 0;
    if (kind == KVW_OP_UPDATE || kind == KVW_OP_DELETE_WITH_VERSION) {
        if (expected == nullptr) return KVW_EINVAL;
        rev = kvw::revision_of(*expected);
        if (rev == 0) return KVW_EBADVERSION;
    }
    uint64_t min = 0;
    if (min_version != nullptr) {
        min = kvw::revision_of(*min_version);
        if (min == 0) return KVW_EBADVERSION;
    }
    const bool with_ttl = ttl.set;
    if (with_ttl) {
        rc = kvw::check_ttl(ttl.ms);
        if (rc != KVW_OK) return rc;
        // Over a value: its expiry must not uncover an older revision.
        const bool overwrites = kind == KVW_OP_PUT || kind == KVW_OP_UPDATE || kind == KVW_OP_DELETE;
        if (!b->impl->supports(overwrites ? KVW_FEATURE_TTL_ON_WRITE : KVW_FEATURE_TTL)) return KVW_ENOTSUP;
    }
    if (static_cast<uint64_t>(len) > static_cast<uint64_t>(INT32_MAX) ||
        static_cast<int64_t>(len) > b->impl->max_payload(kvw::header_bytes(kind, with_ttl, false)))
        return KVW_ETOOBIG;
    // A value within a write id's bytes of the limit goes without one (sent
    // once), so that the advertised maximum stays what 0.1 accepted.
    const bool with_id = b->impl->client().resends() &&
                         static_cast<int64_t>(len) <= b->impl->max_payload(kvw::header_bytes(kind, with_ttl, true));
    if (b->impl->closed()) return KVW_ECLOSED;
    return hand_over(*b->impl, cb, user_data, [&](kvw::Op &op) {
        op.kind = kind;
        op.bucket = b->impl;
        op.key = key;
        // Only create may send its value again (over a delete marker); the
        // other writes send it during this call, so it is read in place.
        if (len > 0 && kind == KVW_OP_CREATE) {
            op.value.assign(static_cast<const char *>(value), len);
        } else if (len > 0) {
            op.borrowed = static_cast<const char *>(value);
            op.borrowed_len = len;
        }
        op.expected = rev;
        op.min_version = min;
        op.ttl_ms = ttl.ms;  // checked: never 0 when set
        op.with_id = with_id;
    });
}

}  // namespace

extern "C" {

KVW_API int kvw_library_version(void) { return KVW_VERSION_NUMBER; }
KVW_API const char *kvw_library_version_string(void) { return KVW_VERSION_STRING; }

KVW_API int kvw_library_check_version(int header_version)
{
    if (header_version < 0) return KVW_EINVAL;
    const int major = header_version / 10000, minor = header_version / 100 % 100;
    return major == KVW_VERSION_MAJOR && minor <= KVW_VERSION_MINOR ? KVW_OK : KVW_EINVAL;
}

KVW_API int kvw_client_options_init_version(kvw_client_options *opts, unsigned int version)
{
    const size_t size = kvw::client_options_size(version);
    if (opts == nullptr || size == 0) return KVW_EINVAL;
    // Copied from static storage, whose padding is zero: the result is the
    // same bytes every time (a stack temporary would copy garbage padding).
    static const kvw_client_options defaults = KVW_CLIENT_OPTIONS_INIT;
    std::memcpy(static_cast<void *>(opts), &defaults, size);
    opts->version = version;
    return KVW_OK;
}

KVW_API int(kvw_client_options_init)(kvw_client_options *opts)
{
    return kvw_client_options_init_version(opts, 1);
}

KVW_API int kvw_bucket_options_init_version(kvw_bucket_options *opts, unsigned int version)
{
    // A version-1 struct ends with `storage`; its tail padding is not ours to write.
    const size_t size = kvw::bucket_options_size(version);
    if (opts == nullptr || size == 0) return KVW_EINVAL;
    static const kvw_bucket_options defaults = KVW_BUCKET_OPTIONS_INIT;  // zero padding, as above
    std::memcpy(static_cast<void *>(opts), &defaults, size);
    opts->version = version;
    return KVW_OK;
}

KVW_API int(kvw_bucket_options_init)(kvw_bucket_options *opts)
{
    return kvw_bucket_options_init_version(opts, 1);
}

KVW_API int kvw_client_open(kvw_client **out, const kvw_client_options *opts)
{
    if (out == nullptr) return KVW_EINVAL;
    *out = nullptr;
    return guarded([&]() -> int {
        std::shared_ptr<kvw::Client> impl;
        int rc = kvw::Client::open(&impl, opts);
        if (rc != KVW_OK) return rc;
        *out = new kvw_client{std::move(impl)};
        return KVW_OK;
    });
}

KVW_API int kvw_client_close(kvw_client *client)
{
    if (client == nullptr) return KVW_EINVAL;
    return guarded([&]() -> int { return client->impl->close(); });
}

KVW_API void kvw_client_free(kvw_client *client)
{
    if (client == nullptr) return;
    guarded([&]() -> int { return client->impl->close(); });
    delete client;  // the client itself lives on while buckets, ops or the loop hold it
}

KVW_API int kvw_client_drain(kvw_client *client, int64_t timeout_ms)
{
    if (client == nullptr || timeout_ms < 0) return KVW_EINVAL;
    std::shared_ptr<kvw::Client> impl = client->impl;
    return guarded([&]() -> int { return impl->drain(timeout_ms); });
}

KVW_API int kvw_client_fd(kvw_client *client)
{
    return client == nullptr ? KVW_EINVAL : client->impl->fd();
}

KVW_API int kvw_client_poll(kvw_client *client, int timeout_ms)
{
    if (client == nullptr) return KVW_EINVAL;
    std::shared_ptr<kvw::Client> impl = client->impl;  // a callback may free the handle
    return guarded([&]() -> int { return impl->poll(timeout_ms); });
}

KVW_API int kvw_client_inflight(kvw_client *client)
{
    return client == nullptr ? KVW_EINVAL : client->impl->inflight();
}

KVW_API int kvw_client_server_version(kvw_client *client)
{
    return client == nullptr ? KVW_EINVAL : client->impl->server_version();
}

KVW_API int kvw_bucket_open(kvw_bucket **out, kvw_client *client, const char *name,
                            const kvw_bucket_options *opts)
{
    if (out == nullptr) return KVW_EINVAL;
    *out = nullptr;
    if (client == nullptr || name == nullptr) return KVW_EINVAL;
    return guarded([&]() -> int {
        std::shared_ptr<kvw::Bucket> impl;
        int rc = kvw::Bucket::open(&impl, client->impl, name, opts);
        if (rc != KVW_OK) return rc;
        *out = new kvw_bucket{std::move(impl)};
        return KVW_OK;
    });
}

KVW_API int kvw_bucket_close(kvw_bucket *bucket)
{
    if (bucket == nullptr) return KVW_EINVAL;
    bucket->impl->close();
    return KVW_OK;
}

KVW_API void kvw_bucket_free(kvw_bucket *bucket)
{
    if (bucket == nullptr) return;
    bucket->impl->close();
    delete bucket;
}

KVW_API const char *kvw_bucket_name(const kvw_bucket *bucket)
{
    return bucket == nullptr ? nullptr : bucket->impl->name().c_str();
}

KVW_API int64_t kvw_bucket_max_value_size(const kvw_bucket *bucket)
{
    return bucket == nullptr ? static_cast<int64_t>(KVW_EINVAL) : bucket->impl->max_value_size();
}

KVW_API int kvw_bucket_supports(const kvw_bucket *bucket, int feature)
{
    if (bucket == nullptr || feature < KVW_FEATURE_TTL || feature > KVW_FEATURE_GET_MANY) return KVW_EINVAL;
    return bucket->impl->supports(feature) ? 1 : 0;
}

KVW_API const char *kvw_bucket_feature_status(const kvw_bucket *bucket, int feature)
{
    if (bucket == nullptr) return "no bucket (NULL)";
    try {
        return bucket->impl->feature_status(feature);
    } catch (...) {
        return "unknown (out of memory)";
    }
}

KVW_API const char *kvw_feature_name(int feature)
{
    switch (feature) {
    case KVW_FEATURE_TTL: return "ttl";
    case KVW_FEATURE_TTL_ON_WRITE: return "ttl_on_write";
    case KVW_FEATURE_LIMIT_MARKERS: return "limit_markers";
    case KVW_FEATURE_ATOMIC_BATCH: return "atomic_batch";
    case KVW_FEATURE_FAST_BATCH: return "fast_batch";
    case KVW_FEATURE_GET_MANY: return "get_many";
    default: return "unknown";
    }
}

KVW_API int kvw_bucket_enable_ttl(kvw_bucket *bucket, int64_t limit_marker_ttl_ms)
{
    if (bucket == nullptr) return KVW_EINVAL;
    return guarded([&]() -> int { return bucket->impl->enable_ttl(limit_marker_ttl_ms); });
}

KVW_API int kvw_put(kvw_bucket *b, const char *key, const void *value, size_t len, kvw_write_cb cb,
                    void *user_data)
{
    return submit(b, KVW_OP_PUT, key, value, len, nullptr, cb, user_data);
}

KVW_API int kvw_create(kvw_bucket *b, const char *key, const void *value, size_t len, kvw_write_cb cb,
                       void *user_data)
{
    return submit(b, KVW_OP_CREATE, key, value, len, nullptr, cb, user_data);
}

KVW_API int kvw_update(kvw_bucket *b, const char *key, const void *value, size_t len,
                       const kvw_version *expected, kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_UPDATE, key, value, len, expected, cb, user_data);
}

KVW_API int kvw_delete(kvw_bucket *b, const char *key, kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_DELETE, key, nullptr, 0, nullptr, cb, user_data);
}

KVW_API int kvw_delete_with_version(kvw_bucket *b, const char *key, const kvw_version *expected,
                                    kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_DELETE_WITH_VERSION, key, nullptr, 0, expected, cb, user_data);
}

KVW_API int kvw_purge(kvw_bucket *b, const char *key, kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_PURGE, key, nullptr, 0, nullptr, cb, user_data);
}

KVW_API int kvw_create_ttl(kvw_bucket *b, const char *key, const void *value, size_t len, int64_t ttl_ms,
                           kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_CREATE, key, value, len, nullptr, cb, user_data, Ttl{true, ttl_ms});
}

KVW_API int kvw_update_ttl(kvw_bucket *b, const char *key, const void *value, size_t len,
                           const kvw_version *expected, int64_t ttl_ms, kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_UPDATE, key, value, len, expected, cb, user_data, Ttl{true, ttl_ms});
}

KVW_API int kvw_put_ttl(kvw_bucket *b, const char *key, const void *value, size_t len, int64_t ttl_ms,
                        kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_PUT, key, value, len, nullptr, cb, user_data, Ttl{true, ttl_ms});
}

KVW_API int kvw_delete_ttl(kvw_bucket *b, const char *key, int64_t ttl_ms, kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_DELETE, key, nullptr, 0, nullptr, cb, user_data, Ttl{true, ttl_ms});
}

KVW_API int kvw_purge_ttl(kvw_bucket *b, const char *key, int64_t ttl_ms, kvw_write_cb cb, void *user_data)
{
    return submit(b, KVW_OP_PURGE, key, nullptr, 0, nullptr, cb, user_data, Ttl{true, ttl_ms});
}

KVW_API int kvw_txn_new(kvw_txn **out, kvw_bucket *b)
{
    if (out == nullptr) return KVW_EINVAL;
    *out = nullptr;
    if (b == nullptr) return KVW_EINVAL;
    if (!b->impl->supports(KVW_FEATURE_ATOMIC_BATCH)) return KVW_ENOTSUP;
    if (b->impl->closed()) return KVW_ECLOSED;
    return guarded([&]() -> int {
        *out = new kvw_txn{b->impl, std::make_shared<kvw::Txn>()};
        return KVW_OK;
    });
}

KVW_API void kvw_txn_free(kvw_txn *txn) { delete txn; }

namespace {

int txn_add(kvw_txn *txn, kvw_op kind, const char *key, const void *value, size_t len, const kvw_version *expected)
{
    if (txn == nullptr || (value == nullptr && len > 0)) return KVW_EINVAL;
    int rc = kvw::check_key(key);
    if (rc != KVW_OK) return rc;
    kvw::TxnWrite w;
    w.kind = kind;
    if (kind == KVW_OP_UPDATE || kind == KVW_OP_DELETE_WITH_VERSION) {
        if (expected == nullptr) return KVW_EINVAL;
        w.expected = kvw::revision_of(*expected);
        if (w.expected == 0) return KVW_EBADVERSION;
    }
    std::vector<kvw::TxnWrite> &writes = txn->writes->writes;
    if (writes.size() >= KVW_TXN_MAX_WRITES) return KVW_ETOOBIG;
    if (static_cast<uint64_t>(len) > static_cast<uint64_t>(INT32_MAX) ||
        static_cast<int64_t>(len) > txn->bucket->max_payload(kvw::header_bytes(kind, false, false) +
                                                              kvw::batch_header_bytes()))
        return KVW_ETOOBIG;
    // The server checks an expectation against the key as it was before
    // the batch, and refuses one on a key written earlier in it.
    if (w.checked())
        for (const kvw::TxnWrite &earlier : writes)
            if (earlier.key == key) return KVW_EINVAL;
    return guarded([&]() -> int {
        w.key = key;
        if (len > 0) w.value.assign(static_cast<const char *>(value), len);
        writes.push_back(std::move(w));
        return KVW_OK;
    });
}

}  // namespace

KVW_API int kvw_txn_put(kvw_txn *txn, const char *key, const void *value, size_t len)
{
    return txn_add(txn, KVW_OP_PUT, key, value, len, nullptr);
}

KVW_API int kvw_txn_create(kvw_txn *txn, const char *key, const void *value, size_t len)
{
    return txn_add(txn, KVW_OP_CREATE, key, value, len, nullptr);
}

KVW_API int kvw_txn_update(kvw_txn *txn, const char *key, const void *value, size_t len,
                           const kvw_version *expected)
{
    return txn_add(txn, KVW_OP_UPDATE, key, value, len, expected);
}

KVW_API int kvw_txn_delete(kvw_txn *txn, const char *key)
{
    return txn_add(txn, KVW_OP_DELETE, key, nullptr, 0, nullptr);
}

KVW_API int kvw_txn_delete_with_version(kvw_txn *txn, const char *key, const kvw_version *expected)
{
    return txn_add(txn, KVW_OP_DELETE_WITH_VERSION, key, nullptr, 0, expected);
}

KVW_API int kvw_txn_len(const kvw_txn *txn)
{
    return txn == nullptr ? KVW_EINVAL : static_cast<int>(txn->writes->writes.size());
}

KVW_API int kvw_txn_commit(kvw_txn *txn, kvw_write_cb cb, void *user_data)
{
    if (txn == nullptr || cb == nullptr || txn->writes->writes.empty()) return KVW_EINVAL;
    if (txn->bucket->closed()) return KVW_ECLOSED;
    std::shared_ptr<kvw::Txn> fresh;  // made before the submit: nothing may fail after it
    const int rc = hand_over(*txn->bucket, cb, user_data, [&](kvw::Op &op) {
        fresh = std::make_shared<kvw::Txn>();
        op.kind = KVW_OP_TXN;
        op.bucket = txn->bucket;
        op.txn = txn->writes;
        op.step = kvw::Op::Step::TxnStart;
    });
    // Accepted: the op has the writes (and may be running on another
    // thread); this handle starts empty. Refused: it keeps them.
    if (rc == KVW_OK) txn->writes = std::move(fresh);
    return rc;
}

KVW_API kvw_version kvw_txn_write_version(const kvw_result *commit, size_t i)
{
    if (commit == nullptr || commit->op != KVW_OP_TXN || commit->status != KVW_OK || i >= commit->txn_writes)
        return kvw_version_from_u64(0);
    return kvw_version_from_u64(kvw::revision_of(commit->version) + i);
}

KVW_API int kvw_get_many(kvw_bucket *b, const char *const *keys, size_t count, kvw_read_cb cb, void *user_data)
{
    if (b == nullptr || keys == nullptr || cb == nullptr || count == 0 || count > KVW_GET_MANY_MAX) return KVW_EINVAL;
    for (size_t i = 0; i < count; i++) {
        const int rc = kvw::check_key(keys[i]);
        if (rc != KVW_OK) return rc;
    }
    if (!b->impl->supports(KVW_FEATURE_GET_MANY)) return KVW_ENOTSUP;
    if (b->impl->closed()) return KVW_ECLOSED;
    return hand_over(*b->impl, cb, user_data, [&](kvw::Op &op) {
        op.kind = KVW_OP_GET_MANY;
        op.bucket = b->impl;
        op.many.reset(new kvw::Many);
        op.many->keys.assign(keys, keys + count);
    });
}

KVW_API int kvw_get(kvw_bucket *b, const char *key, kvw_read_cb cb, void *user_data)
{
    return submit(b, KVW_OP_GET, key, nullptr, 0, nullptr, cb, user_data);
}

KVW_API int kvw_get_entry(kvw_bucket *b, const char *key, kvw_read_cb cb, void *user_data)
{
    return submit(b, KVW_OP_GET_ENTRY, key, nullptr, 0, nullptr, cb, user_data);
}

KVW_API int kvw_get_at_least(kvw_bucket *b, const char *key, const kvw_version *min, kvw_read_cb cb,
                             void *user_data)
{
    if (min == nullptr) return KVW_EINVAL;
    return submit(b, KVW_OP_GET, key, nullptr, 0, nullptr, cb, user_data, kNoTtl, min);
}

KVW_API int kvw_get_entry_at_least(kvw_bucket *b, const char *key, const kvw_version *min, kvw_read_cb cb,
                                   void *user_data)
{
    if (min == nullptr) return KVW_EINVAL;
    return submit(b, KVW_OP_GET_ENTRY, key, nullptr, 0, nullptr, cb, user_data, kNoTtl, min);
}

KVW_API const char *kvw_op_name(int op)
{
    switch (op) {
    case KVW_OP_PUT: return "put";
    case KVW_OP_CREATE: return "create";
    case KVW_OP_UPDATE: return "update";
    case KVW_OP_DELETE: return "delete";
    case KVW_OP_DELETE_WITH_VERSION: return "delete_with_version";
    case KVW_OP_PURGE: return "purge";
    case KVW_OP_GET: return "get";
    case KVW_OP_GET_ENTRY: return "get_entry";
    case KVW_OP_TXN: return "txn";
    case KVW_OP_GET_MANY: return "get_many";
    default: return "unknown";
    }
}

KVW_API const char *kvw_entry_op_name(int entry_op)
{
    switch (entry_op) {
    case KVW_ENTRY_PUT: return "PUT";
    case KVW_ENTRY_DELETE: return "DEL";
    case KVW_ENTRY_PURGE: return "PURGE";
    default: return "NONE";
    }
}

}  // extern "C"
