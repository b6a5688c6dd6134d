/*
 * The kvw ABI as released (soname libkvw.so.0): what programs already built
 * against kvw rely on. The checks in this directory compare the headers and
 * libkvw with these lists.
 *
 * Adding to the ABI (a new function; a field appended to an options struct
 * together with a higher KVW_*_OPTIONS_VERSION) means adding lines here.
 * Sizes are those of the current release; compat_v0_1.c checks that a
 * program built against the 0.1 header (tests/abi/v0_1/) still works.
 * Changing or removing a line breaks existing binaries: that needs a new
 * major version and soname, not an edit of this file alone.
 */
#ifndef KVW_ABI_BASELINE_H
#define KVW_ABI_BASELINE_H

/* Exported functions: X(return type, name, (parameter types)). */
#define KVW_ABI_FUNCTIONS(X) \
    X(int, kvw_library_version, (void)) \
    X(const char *, kvw_library_version_string, (void)) \
    X(int, kvw_library_check_version, (int)) \
    X(const char *, kvw_strerror, (int)) \
    X(const char *, kvw_err_name, (int)) \
    X(int, kvw_err_is_retryable, (int)) \
    X(int, kvw_err_outcome_unknown, (int)) \
    X(kvw_version, kvw_version_from_u64, (uint64_t)) \
    X(int, kvw_version_to_u64, (const kvw_version *, uint64_t *)) \
    X(int, kvw_version_is_unknown, (const kvw_version *)) \
    X(int, kvw_version_equal, (const kvw_version *, const kvw_version *)) \
    X(int, kvw_version_format, (const kvw_version *, char *, size_t)) \
    X(int, kvw_version_parse, (kvw_version *, const char *)) \
    X(int, kvw_client_options_init, (kvw_client_options *)) \
    X(int, kvw_client_open, (kvw_client **, const kvw_client_options *)) \
    X(int, kvw_client_close, (kvw_client *)) \
    X(void, kvw_client_free, (kvw_client *)) \
    X(int, kvw_client_fd, (kvw_client *)) \
    X(int, kvw_client_poll, (kvw_client *, int)) \
    X(int, kvw_client_inflight, (kvw_client *)) \
    X(int, kvw_bucket_options_init, (kvw_bucket_options *)) \
    X(int, kvw_bucket_open, (kvw_bucket **, kvw_client *, const char *, const kvw_bucket_options *)) \
    X(int, kvw_bucket_close, (kvw_bucket *)) \
    X(void, kvw_bucket_free, (kvw_bucket *)) \
    X(const char *, kvw_bucket_name, (const kvw_bucket *)) \
    X(int64_t, kvw_bucket_max_value_size, (const kvw_bucket *)) \
    X(int, kvw_put, (kvw_bucket *, const char *, const void *, size_t, kvw_write_cb, void *)) \
    X(int, kvw_create, (kvw_bucket *, const char *, const void *, size_t, kvw_write_cb, void *)) \
    X(int, kvw_update, (kvw_bucket *, const char *, const void *, size_t, const kvw_version *, kvw_write_cb, void *)) \
    X(int, kvw_delete, (kvw_bucket *, const char *, kvw_write_cb, void *)) \
    X(int, kvw_delete_with_version, (kvw_bucket *, const char *, const kvw_version *, kvw_write_cb, void *)) \
    X(int, kvw_purge, (kvw_bucket *, const char *, kvw_write_cb, void *)) \
    X(int, kvw_get, (kvw_bucket *, const char *, kvw_read_cb, void *)) \
    X(int, kvw_get_entry, (kvw_bucket *, const char *, kvw_read_cb, void *)) \
    X(int, kvw_key_check, (const char *)) \
    X(int, kvw_bucket_name_check, (const char *)) \
    X(const char *, kvw_op_name, (int)) \
    X(const char *, kvw_entry_op_name, (int)) \
    /* 0.2 */ \
    X(int, kvw_client_options_init_version, (kvw_client_options *, unsigned int)) \
    X(int, kvw_bucket_options_init_version, (kvw_bucket_options *, unsigned int)) \
    X(int, kvw_client_server_version, (kvw_client *)) \
    X(int, kvw_bucket_supports, (const kvw_bucket *, int)) \
    X(const char *, kvw_bucket_feature_status, (const kvw_bucket *, int)) \
    X(const char *, kvw_feature_name, (int)) \
    X(int, kvw_bucket_enable_ttl, (kvw_bucket *, int64_t)) \
    X(int, kvw_create_ttl, (kvw_bucket *, const char *, const void *, size_t, int64_t, kvw_write_cb, void *)) \
    X(int, kvw_update_ttl, (kvw_bucket *, const char *, const void *, size_t, const kvw_version *, int64_t, kvw_write_cb, void *)) \
    X(int, kvw_put_ttl, (kvw_bucket *, const char *, const void *, size_t, int64_t, kvw_write_cb, void *)) \
    X(int, kvw_purge_ttl, (kvw_bucket *, const char *, int64_t, kvw_write_cb, void *)) \
    X(int, kvw_delete_ttl, (kvw_bucket *, const char *, int64_t, kvw_write_cb, void *)) \
    X(int, kvw_client_drain, (kvw_client *, int64_t)) \
    X(int, kvw_get_at_least, (kvw_bucket *, const char *, const kvw_version *, kvw_read_cb, void *)) \
    X(int, kvw_get_entry_at_least, (kvw_bucket *, const char *, const kvw_version *, kvw_read_cb, void *)) \
    X(int, kvw_waiter_new, (kvw_waiter **)) \
    X(void, kvw_waiter_free, (kvw_waiter *)) \
    X(void, kvw_waiter_callback, (const kvw_result *, void *)) \
    X(int, kvw_waiter_wait, (kvw_waiter *, int, const kvw_result **)) \
    X(int, kvw_txn_new, (kvw_txn **, kvw_bucket *)) \
    X(void, kvw_txn_free, (kvw_txn *)) \
    X(int, kvw_txn_put, (kvw_txn *, const char *, const void *, size_t)) \
    X(int, kvw_txn_create, (kvw_txn *, const char *, const void *, size_t)) \
    X(int, kvw_txn_update, (kvw_txn *, const char *, const void *, size_t, const kvw_version *)) \
    X(int, kvw_txn_delete, (kvw_txn *, const char *)) \
    X(int, kvw_txn_delete_with_version, (kvw_txn *, const char *, const kvw_version *)) \
    X(int, kvw_txn_len, (const kvw_txn *)) \
    X(int, kvw_txn_commit, (kvw_txn *, kvw_write_cb, void *)) \
    X(kvw_version, kvw_txn_write_version, (const kvw_result *, size_t)) \
    X(int, kvw_get_many, (kvw_bucket *, const char *const *, size_t, kvw_read_cb, void *))

/* Values that cross the boundary as plain integers: X(name, value). */
#define KVW_ABI_CONSTANTS(X) \
    X(KVW_OK, 0) X(KVW_EINVAL, -1) X(KVW_EBADKEY, -2) X(KVW_EBADNAME, -3) \
    X(KVW_EBADVERSION, -4) X(KVW_ETOOBIG, -5) X(KVW_EEXIST, -6) X(KVW_ECONFLICT, -7) \
    X(KVW_ENOTFOUND, -8) X(KVW_ETIMEDOUT, -9) X(KVW_ENOTCONN, -10) X(KVW_ENOBUCKET, -11) \
    X(KVW_EFULL, -12) X(KVW_ECLOSED, -13) X(KVW_EBUSY, -14) X(KVW_ENOMEM, -15) \
    X(KVW_EAUTH, -16) X(KVW_EPERM, -17) X(KVW_ETLS, -18) X(KVW_ESERVER, -19) \
    X(KVW_EINTERNAL, -20) \
    X(KVW_DELIVERY_THREAD, 0) X(KVW_DELIVERY_LIBUV, 1) X(KVW_DELIVERY_POLL, 2) \
    X(KVW_STORAGE_FILE, 0) X(KVW_STORAGE_MEMORY, 1) \
    X(KVW_OP_PUT, 1) X(KVW_OP_CREATE, 2) X(KVW_OP_UPDATE, 3) X(KVW_OP_DELETE, 4) \
    X(KVW_OP_DELETE_WITH_VERSION, 5) X(KVW_OP_PURGE, 6) X(KVW_OP_GET, 7) \
    X(KVW_OP_GET_ENTRY, 8) \
    X(KVW_ENTRY_NONE, 0) X(KVW_ENTRY_PUT, 1) X(KVW_ENTRY_DELETE, 2) X(KVW_ENTRY_PURGE, 3) \
    X(KVW_VERSION_TOKEN_MAX, 15) X(KVW_VERSION_STRLEN, 40) X(KVW_KEY_MAX, 1024) \
    /* 0.2 */ \
    X(KVW_ENOTSUP, -21) X(KVW_EBADTTL, -22) X(KVW_TTL_NEVER, -1) \
    X(KVW_FEATURE_TTL, 1) X(KVW_FEATURE_TTL_ON_WRITE, 2) X(KVW_FEATURE_LIMIT_MARKERS, 3) \
    X(KVW_FEATURE_ATOMIC_BATCH, 4) X(KVW_FEATURE_FAST_BATCH, 5) X(KVW_RESEND_NEVER, -1) \
    X(KVW_READ_CHECKED, 0) X(KVW_READ_DIRECT, 1) X(KVW_READ_LEADER, 2) \
    X(KVW_OP_TXN, 9) X(KVW_TXN_MAX_WRITES, 1000) X(KVW_OP_GET_MANY, 10) X(KVW_GET_MANY_MAX, 1024) \
    X(KVW_FEATURE_GET_MANY, 6)

/* Options versions may only grow: X(name, first released value). */
#define KVW_ABI_OPTIONS_VERSIONS(X) \
    X(KVW_CLIENT_OPTIONS_VERSION, 1) X(KVW_BUCKET_OPTIONS_VERSION, 2)

/*
 * Struct layouts on LP64 (x86_64, aarch64): sizes, and every field as
 * X(struct, field, offset, size).
 */
#define KVW_ABI_SIZES(X) \
    X(kvw_version, 16) X(kvw_client_options, 144) X(kvw_bucket_options, 80) X(kvw_result, 104)

#define KVW_ABI_VERSION_FIELDS(X) \
    X(kvw_version, len, 0, 1) \
    X(kvw_version, bytes, 1, 15)

#define KVW_ABI_CLIENT_OPTIONS_FIELDS(X) \
    X(kvw_client_options, version, 0, 4) \
    X(kvw_client_options, servers, 8, 8) \
    X(kvw_client_options, name, 16, 8) \
    X(kvw_client_options, user, 24, 8) \
    X(kvw_client_options, password, 32, 8) \
    X(kvw_client_options, token, 40, 8) \
    X(kvw_client_options, credentials_file, 48, 8) \
    X(kvw_client_options, tls_ca_file, 56, 8) \
    X(kvw_client_options, tls_cert_file, 64, 8) \
    X(kvw_client_options, tls_key_file, 72, 8) \
    X(kvw_client_options, tls_required, 80, 4) \
    X(kvw_client_options, connect_timeout_ms, 88, 8) \
    X(kvw_client_options, op_timeout_ms, 96, 8) \
    X(kvw_client_options, max_inflight, 104, 4) \
    X(kvw_client_options, max_reconnect, 108, 4) \
    X(kvw_client_options, reconnect_wait_ms, 112, 8) \
    X(kvw_client_options, delivery, 120, 4) \
    X(kvw_client_options, uv_loop, 128, 8) \
    /* version 2 (0.2); version 1 ended at 136 */ \
    X(kvw_client_options, resend_after_ms, 136, 8)

#define KVW_ABI_BUCKET_OPTIONS_FIELDS(X) \
    X(kvw_bucket_options, version, 0, 4) \
    X(kvw_bucket_options, create_if_missing, 4, 4) \
    X(kvw_bucket_options, history, 8, 4) \
    X(kvw_bucket_options, max_age_ms, 16, 8) \
    X(kvw_bucket_options, max_bytes, 24, 8) \
    X(kvw_bucket_options, max_value_size, 32, 4) \
    X(kvw_bucket_options, replicas, 36, 4) \
    X(kvw_bucket_options, storage, 40, 4) \
    /* version 2 (0.2); version 1 ended at 44 */ \
    X(kvw_bucket_options, allow_ttl, 44, 4) \
    X(kvw_bucket_options, limit_marker_ttl_ms, 48, 8) \
    /* version 3 (0.2) */ \
    X(kvw_bucket_options, duplicate_window_ms, 56, 8) \
    /* version 4 (0.2) */ \
    X(kvw_bucket_options, read_mode, 64, 4) \
    /* version 5 (0.2) */ \
    X(kvw_bucket_options, allow_atomic, 68, 4) \
    /* version 6 (0.2) */ \
    X(kvw_bucket_options, allow_batched, 72, 4) \
    X(kvw_bucket_options, bulk, 76, 4)

#define KVW_ABI_RESULT_FIELDS(X) \
    X(kvw_result, status, 0, 4) \
    X(kvw_result, message, 8, 8) \
    X(kvw_result, op, 16, 4) \
    X(kvw_result, key, 24, 8) \
    X(kvw_result, version, 32, 16) \
    X(kvw_result, server_error, 48, 4) \
    X(kvw_result, entry_op, 52, 4) \
    X(kvw_result, value, 56, 8) \
    X(kvw_result, value_len, 64, 8) \
    X(kvw_result, ttl_ms, 72, 8) /* 0.2 */ \
    X(kvw_result, txn_writes, 80, 8) /* 0.2 */ \
    X(kvw_result, entries, 88, 8) /* 0.2 */ \
    X(kvw_result, entry_count, 96, 8) /* 0.2 */

#endif /* KVW_ABI_BASELINE_H */
