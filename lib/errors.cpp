#include "errors.h"

#include <kvw/kvw.h>

#include <cstring>

namespace {

struct ErrorInfo {
    int code;
    const char *name;
    const char *text;
};

const ErrorInfo kErrors[] = {
    {KVW_OK, "KVW_OK", "success"},
    {KVW_EINVAL, "KVW_EINVAL", "invalid argument"},
    {KVW_EBADKEY, "KVW_EBADKEY",
     "invalid key: use 1-1024 characters of [-/_=.a-zA-Z0-9], no leading or trailing '.', no '..'"},
    {KVW_EBADNAME, "KVW_EBADNAME", "invalid bucket name: use [A-Za-z0-9_-]+"},
    {KVW_EBADVERSION, "KVW_EBADVERSION", "version token is unknown or not a revision"},
    {KVW_ETOOBIG, "KVW_ETOOBIG", "value is larger than the server or bucket accepts"},
    {KVW_EEXIST, "KVW_EEXIST", "key already exists"},
    {KVW_ECONFLICT, "KVW_ECONFLICT", "version conflict: the key's latest version is not the expected one"},
    {KVW_ENOTFOUND, "KVW_ENOTFOUND", "key not found"},
    {KVW_ETIMEDOUT, "KVW_ETIMEDOUT", "timed out: the outcome is unknown, the write may have landed"},
    {KVW_ENOTCONN, "KVW_ENOTCONN", "not connected: no NATS server or JetStream responder reachable"},
    {KVW_ENOBUCKET, "KVW_ENOBUCKET", "no such bucket"},
    {KVW_EFULL, "KVW_EFULL", "bucket or server storage is full"},
    {KVW_ECLOSED, "KVW_ECLOSED", "closed: the client or bucket was closed"},
    {KVW_EBUSY, "KVW_EBUSY", "busy: the in-flight window is full"},
    {KVW_ENOMEM, "KVW_ENOMEM", "out of memory"},
    {KVW_EAUTH, "KVW_EAUTH", "authentication failed"},
    {KVW_EPERM, "KVW_EPERM", "permission denied by the server"},
    {KVW_ETLS, "KVW_ETLS", "TLS set-up or handshake failed"},
    {KVW_ESERVER, "KVW_ESERVER", "server error"},
    {KVW_EINTERNAL, "KVW_EINTERNAL", "internal error in kvw or nats.c"},
    {KVW_ENOTSUP, "KVW_ENOTSUP",
     "not supported by this server or bucket (kvw_bucket_feature_status says what is missing)"},
    {KVW_EBADTTL, "KVW_EBADTTL",
     "invalid TTL: use whole seconds from 1 s up, or KVW_TTL_NEVER"},
};

const ErrorInfo *find(int code)
{
    for (const ErrorInfo &e : kErrors)
        if (e.code == code) return &e;
    return nullptr;
}

}  // namespace

extern "C" {

KVW_API const char *kvw_strerror(int code)
{
    const ErrorInfo *e = find(code);
    return e ? e->text : "unknown kvw error code";
}

KVW_API const char *kvw_err_name(int code)
{
    const ErrorInfo *e = find(code);
    return e ? e->name : "KVW_EUNKNOWN";
}

KVW_API int kvw_err_is_retryable(int code)
{
    return code == KVW_ETIMEDOUT || code == KVW_ENOTCONN || code == KVW_EBUSY;
}

KVW_API int kvw_err_outcome_unknown(int code)
{
    return code == KVW_ETIMEDOUT || code == KVW_ECLOSED;
}

}  // extern "C"

namespace kvw {

namespace {
// JetStream error codes newer than nats.c 3.4.1's jsErrCode enum.
constexpr int kWrongLastSequenceNoNumber = 10164;
constexpr int kMessageTtlInvalid = 10165;
constexpr int kMessageTtlDisabled = 10166;
}  // namespace

int from_nats(natsStatus s, jsErrCode js_err)
{
    switch (static_cast<int>(js_err)) {
    case 0: break;
    case JSStreamWrongLastSequenceErr:
    // Clustered streams may refuse a stale CAS as "wrong last sequence"
    // without the number (nats-server #7281, nats.go #2097).
    case kWrongLastSequenceNoNumber: return KVW_ECONFLICT;
    case kMessageTtlInvalid: return KVW_EBADTTL;
    case kMessageTtlDisabled: return KVW_ENOTSUP;
    case JSStreamNotFoundErr: return KVW_ENOBUCKET;
    case JSStreamMessageExceedsMaximumErr: return KVW_ETOOBIG;
    case JSStreamStoreFailedErr:  // "maximum bytes exceeded" / "maximum messages exceeded"
    case JSStorageResourcesExceededErr:
    case JSMemoryResourcesExceededErr:
    case JSInsufficientResourcesErr:
    case JSAccountResourcesExceededErr:
    case JSStreamLimitsErr: return KVW_EFULL;
    default: return KVW_ESERVER;
    }
    switch (s) {
    case NATS_OK: return KVW_OK;
    case NATS_TIMEOUT: return KVW_ETIMEDOUT;
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR:
    case NATS_ADDRESS_MISSING:
    case NATS_DRAINING:
    // While nats.c reconnects it keeps publishes in a bounded buffer
    // (natsOptions_SetReconnectBufSize, 8 MiB); once that is full a publish
    // fails with this. Nothing was sent and a retry after the reconnect helps.
    case NATS_INSUFFICIENT_BUFFER: return KVW_ENOTCONN;
    case NATS_CONNECTION_AUTH_FAILED: return KVW_EAUTH;
    case NATS_NOT_PERMITTED: return KVW_EPERM;
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED: return KVW_ETLS;
    case NATS_NO_MEMORY: return KVW_ENOMEM;
    case NATS_MAX_PAYLOAD: return KVW_ETOOBIG;
    // No stream answered: JetStream is restarting or electing a leader (or
    // the bucket was deleted). Nothing was stored, and a retry can help.
    case NATS_NO_RESPONDERS: return KVW_ENOTCONN;
    case NATS_NOT_FOUND: return KVW_ENOBUCKET;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT: return KVW_EINVAL;
    case NATS_ERR: return KVW_ESERVER;
    default: return KVW_EINTERNAL;
    }
}

}  // namespace kvw
