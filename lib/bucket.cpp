#include "bucket.h"

#include "client.h"
#include "errors.h"
#include "keys.h"

#include <nats/nats.h>

namespace kvw {

namespace {

// Reads the stream behind the bucket. KVW_ENOBUCKET when it does not exist.
int stream_info(jsStreamInfo **si, jsCtx *js, const std::string &stream)
{
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(si, js, stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK) return KVW_OK;
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return KVW_ENOBUCKET;
    return from_nats(s, jerr);
}

int create_bucket(jsCtx *js, const char *name, const kvw_bucket_options &o)
{
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name;
    cfg.History = static_cast<uint8_t>(o.history);
    cfg.TTL = o.max_age_ms * 1000000;  // ns
    cfg.MaxBytes = o.max_bytes > 0 ? o.max_bytes : -1;
    cfg.MaxValueSize = o.max_value_size > 0 ? o.max_value_size : -1;
    cfg.Replicas = o.replicas;
    cfg.StorageType = o.storage == KVW_STORAGE_MEMORY ? js_MemoryStorage : js_FileStorage;
    kvStore *kv = nullptr;
    natsStatus s = js_CreateKeyValue(&kv, js, &cfg);
    kvStore_Destroy(kv);
    return from_nats(s);
}

}  // namespace

int Bucket::open(std::shared_ptr<Bucket> *out, const std::shared_ptr<Client> &client, const char *name,
                 const kvw_bucket_options *opts)
{
    int rc = check_bucket_name(name);
    if (rc != KVW_OK) return rc;
    kvw_bucket_options o = KVW_BUCKET_OPTIONS_INIT;
    if (opts != nullptr) {
        if (opts->version != KVW_BUCKET_OPTIONS_VERSION) return KVW_EINVAL;
        o = *opts;
    }
    const int storage = enum_bits(o.storage);
    if (o.history < 1 || o.history > 64 || o.max_age_ms < 0 || o.max_bytes < 0 || o.max_value_size < 0 ||
        o.replicas < 1 || o.replicas > 5 || (storage != KVW_STORAGE_FILE && storage != KVW_STORAGE_MEMORY))
        return KVW_EINVAL;
    if (client->closed()) return KVW_ECLOSED;

    const std::string stream = std::string("KV_") + name;
    jsStreamInfo *si = nullptr;
    rc = stream_info(&si, client->js(), stream);
    if (rc == KVW_ENOBUCKET && o.create_if_missing) {
        rc = create_bucket(client->js(), name, o);
        if (rc == KVW_OK) rc = stream_info(&si, client->js(), stream);
    }
    if (rc != KVW_OK) return rc;

    int64_t limit = natsConnection_GetMaxPayload(client->connection());
    bool direct = si->Config != nullptr && si->Config->AllowDirect;
    if (si->Config != nullptr && si->Config->MaxMsgSize > 0 && si->Config->MaxMsgSize < limit)
        limit = si->Config->MaxMsgSize;
    jsStreamInfo_Destroy(si);
    // kvw reads with direct gets, which KV buckets have had since server 2.9.
    if (!direct) return KVW_ENOBUCKET;

    auto b = std::make_shared<Bucket>();
    b->client_ = client;
    b->name_ = name;
    b->subject_prefix_ = "$KV." + b->name_ + ".";
    b->direct_get_ = "$JS.API.DIRECT.GET." + stream;
    b->max_message_ = limit;
    *out = std::move(b);
    return KVW_OK;
}

}  // namespace kvw
