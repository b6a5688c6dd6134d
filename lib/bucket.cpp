#include "bucket.h"

#include "client.h"
#include "errors.h"
#include "headers.h"
#include "keys.h"

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace kvw {

using nlohmann::json;

namespace {

// The server versions that brought what the features need.
constexpr int kTtlServer = 21100;     // per-message TTL, limit markers (ADR-43)
constexpr int kAtomicServer = 21200;  // atomic batch publish (ADR-50)
constexpr int kBatchedServer = 21400; // fast-ingest batches (ADR-50)

std::string version_text(int v)
{
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

// One JetStream API request with a JSON body and reply, within `wait_ms`.
// nats.c 3.4.1 does not know the stream fields of 2.11+ (allow_msg_ttl…), so
// kvw reads and writes stream configurations as JSON itself. An API error in
// the reply maps like a publish error (10059: no such stream). *transient:
// no answer, "no responders", 10008 (JetStream temporarily unavailable) or
// 10005 (no suitable peers for placement): what a cluster formed a moment
// ago answers while it elects its meta leader and learns its peers (10005
// also means too few servers for the replicas: then it fails at the deadline).
int api_request_once(Client &client, const std::string &subject, const std::string &body, int64_t wait_ms,
                     json *reply, bool *transient)
{
    natsMsg *msg = nullptr;
    natsStatus s = natsConnection_Request(&msg, client.connection(), subject.c_str(), body.data(),
                                          static_cast<int>(body.size()), wait_ms);
    *transient = s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS;
    if (s != NATS_OK) return from_nats(s);
    const char *data = natsMsg_GetData(msg);
    *reply = json::parse(data, data + natsMsg_GetDataLength(msg), nullptr, false);
    natsMsg_Destroy(msg);
    if (reply->is_discarded() || !reply->is_object()) return KVW_ESERVER;
    auto err = reply->find("error");
    if (err == reply->end()) return KVW_OK;
    const int code = err->is_object() ? err->value("err_code", 0) : 0;
    *transient = code == 10008 || code == 10005;
    return code == 10059 ? KVW_ENOBUCKET : from_nats(NATS_ERR, static_cast<jsErrCode>(code));
}

// api_request_once, again while the failure is transient, until the client's
// op timeout: a cluster formed a moment ago drops the first requests
// (measured on 2.15.2: about 1 s), so each try waits at most 1 s.
// Creating a stream twice with the same configuration is not an error.
int api_request(Client &client, const std::string &subject, const std::string &body, json *reply)
{
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + milliseconds(client.op_timeout_ms());
    for (;;) {
        const int64_t left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        bool transient = false;
        const int rc = api_request_once(client, subject, body, std::max<int64_t>(1, std::min<int64_t>(1000, left)),
                                        reply, &transient);
        if (!transient || steady_clock::now() + milliseconds(100) >= deadline) return rc;
        if (rc != KVW_ETIMEDOUT) std::this_thread::sleep_for(milliseconds(100));  // answered at once
    }
}

// The stream nats.c's js_CreateKeyValue makes for a bucket (ADR-8), plus the
// TTL fields of 2.11+ and allow_atomic of 2.12+ when asked for.
json bucket_stream_config(const std::string &name, const kvw_bucket_options &o)
{
    const int64_t ms = 1000000;  // ns per ms
    // The server keeps every write id of the window in memory (about 250
    // bytes each, measured on 2.15.2): 30 s instead of the stream default of
    // 2 minutes covers kvw's resends (op_timeout_ms, 5 s by default) at a
    // quarter of the memory.
    const int64_t default_window = 30000 * ms;
    const int64_t max_age = o.max_age_ms * ms;
    json c = {
        {"name", "KV_" + name},
        {"subjects", {"$KV." + name + ".>"}},
        {"retention", "limits"},
        {"max_consumers", -1},
        {"max_msgs", -1},
        {"max_bytes", o.max_bytes > 0 ? o.max_bytes : -1},
        {"max_age", max_age},
        {"max_msgs_per_subject", o.history},
        {"max_msg_size", o.max_value_size > 0 ? o.max_value_size : -1},
        {"discard", "new"},
        {"storage", o.storage == KVW_STORAGE_MEMORY ? "memory" : "file"},
        {"num_replicas", o.replicas},
        {"duplicate_window", o.duplicate_window_ms > 0         ? o.duplicate_window_ms * ms
                             : max_age > 0 && max_age < default_window ? max_age
                                                                       : default_window},
        {"allow_rollup_hdrs", true},
        {"deny_delete", true},
        {"allow_direct", true},
    };
    if (o.allow_ttl || o.limit_marker_ttl_ms > 0) c["allow_msg_ttl"] = true;
    if (o.limit_marker_ttl_ms > 0) c["subject_delete_marker_ttl"] = o.limit_marker_ttl_ms * ms;
    if (o.allow_atomic) c["allow_atomic"] = true;
    if (o.allow_batched) c["allow_batched"] = true;
    return c;
}

// Reads the version-`opts->version` prefix of the caller's options over the
// defaults: a program built against an older header passes a shorter struct.
int read_options(kvw_bucket_options *o, const kvw_bucket_options *opts)
{
    *o = KVW_BUCKET_OPTIONS_INIT;
    if (opts == nullptr) return KVW_OK;
    const size_t n = bucket_options_size(opts->version);
    if (n == 0) return KVW_EINVAL;
    std::memcpy(static_cast<void *>(o), opts, n);
    return KVW_OK;
}

}  // namespace

size_t bucket_options_size(unsigned int version)
{
    switch (version) {
    case 1: return offsetof(kvw_bucket_options, allow_ttl);  // 0.1 ended with `storage`
    case 2: return offsetof(kvw_bucket_options, duplicate_window_ms);
    case 3: return offsetof(kvw_bucket_options, read_mode);
    case 4: return offsetof(kvw_bucket_options, allow_atomic);
    case 5: return offsetof(kvw_bucket_options, allow_batched);
    case 6: return sizeof(kvw_bucket_options);
    default: return 0;
    }
}

namespace {

StreamFeatures features_of(const json &cfg)
{
    StreamFeatures f;
    f.ttl = cfg.value("allow_msg_ttl", false);
    f.markers = cfg.value("subject_delete_marker_ttl", int64_t(0)) > 0;
    f.atomic = cfg.value("allow_atomic", false);
    f.batched = cfg.value("allow_batched", false);
    f.history = static_cast<int>(cfg.value("max_msgs_per_subject", int64_t(1)));
    return f;
}

}  // namespace

void Bucket::set_features(const StreamFeatures &f)
{
    ttl_.store(f.ttl);
    markers_.store(f.markers);
    atomic_.store(f.atomic);
    batched_.store(f.batched);
    history_.store(f.history);
}

int Bucket::open(std::shared_ptr<Bucket> *out, const std::shared_ptr<Client> &client, const char *name,
                 const kvw_bucket_options *opts)
{
    int rc = check_bucket_name(name);
    if (rc != KVW_OK) return rc;
    kvw_bucket_options o;
    rc = read_options(&o, opts);
    if (rc != KVW_OK) return rc;
    const int storage = enum_bits(o.storage);
    if (o.history < 1 || o.history > 64 || o.max_age_ms < 0 || o.max_bytes < 0 || o.max_value_size < 0 ||
        o.replicas < 1 || o.replicas > 5 || (storage != KVW_STORAGE_FILE && storage != KVW_STORAGE_MEMORY) ||
        (o.allow_ttl != 0 && o.allow_ttl != 1) || (o.allow_atomic != 0 && o.allow_atomic != 1) ||
        (o.allow_batched != 0 && o.allow_batched != 1) || (o.bulk != 0 && o.bulk != 1) ||
        o.limit_marker_ttl_ms < 0 || o.duplicate_window_ms < 0 ||
        (o.max_age_ms > 0 && o.duplicate_window_ms > o.max_age_ms) ||  // the server's rule
        (enum_bits(o.read_mode) != KVW_READ_CHECKED && enum_bits(o.read_mode) != KVW_READ_DIRECT &&
         enum_bits(o.read_mode) != KVW_READ_LEADER))
        return KVW_EINVAL;
    if (o.limit_marker_ttl_ms > 0 && check_ttl(o.limit_marker_ttl_ms) != KVW_OK) return KVW_EBADTTL;
    if (client->closed()) return KVW_ECLOSED;

    auto b = std::make_shared<Bucket>();
    b->client_ = client;
    b->name_ = name;
    b->stream_ = std::string("KV_") + name;
    b->subject_prefix_ = "$KV." + b->name_ + ".";
    b->direct_get_ = "$JS.API.DIRECT.GET." + b->stream_;
    b->msg_get_ = "$JS.API.STREAM.MSG.GET." + b->stream_;

    json info;
    rc = api_request(*client, "$JS.API.STREAM.INFO." + b->stream_, "", &info);
    if (rc == KVW_ENOBUCKET && o.create_if_missing) {
        const bool wants_ttl = o.allow_ttl || o.limit_marker_ttl_ms > 0;
        const int server = client->server_version();
        if (wants_ttl && server >= 0 && server < kTtlServer) return KVW_ENOTSUP;
        if (o.allow_atomic && server >= 0 && server < kAtomicServer) return KVW_ENOTSUP;
        if (o.allow_batched && server >= 0 && server < kBatchedServer) return KVW_ENOTSUP;
        rc = api_request(*client, "$JS.API.STREAM.CREATE." + b->stream_,
                         bucket_stream_config(name, o).dump(), &info);
        // 10058: another process created it first; open what is there.
        if (rc != KVW_OK) rc = api_request(*client, "$JS.API.STREAM.INFO." + b->stream_, "", &info);
    }
    if (rc != KVW_OK) return rc;

    const json cfg = info.value("config", json::object());
    // KV buckets have had direct gets since server 2.9; without them every
    // read goes to the stream leader.
    b->read_mode_ = cfg.value("allow_direct", false) ? static_cast<kvw_read_mode>(enum_bits(o.read_mode))
                                                     : KVW_READ_LEADER;
    // One server answers every read of an R1 stream from what it acked: no
    // replica can be behind, so the check has nothing to do there.
    if (b->read_mode_ == KVW_READ_CHECKED && cfg.value("num_replicas", int64_t(1)) > 1)
        b->floors_ = client->floors_for(b->stream_);
    int64_t limit = natsConnection_GetMaxPayload(client->connection());
    const int64_t stream_limit = cfg.value("max_msg_size", int64_t(-1));
    if (stream_limit > 0 && stream_limit < limit) limit = stream_limit;
    b->max_message_ = limit;
    b->duplicate_window_ms_ = cfg.value("duplicate_window", int64_t(0)) / 1000000;

    b->set_features(features_of(cfg));
    if (o.bulk) {
        if (!b->supports(KVW_FEATURE_FAST_BATCH)) return KVW_ENOTSUP;
        rc = client->open_lane(&b->lane_);
        if (rc != KVW_OK) return rc;
    }
    *out = std::move(b);
    return KVW_OK;
}

bool Bucket::supports(int feature) const
{
    switch (feature) {
    case KVW_FEATURE_TTL: return ttl_.load();
    case KVW_FEATURE_TTL_ON_WRITE: return ttl_.load() && history_.load() == 1;
    case KVW_FEATURE_LIMIT_MARKERS: return markers_.load();
    case KVW_FEATURE_ATOMIC_BATCH: return atomic_.load();
    case KVW_FEATURE_FAST_BATCH: return batched_.load();
    case KVW_FEATURE_GET_MANY: {
        const int server = client_->server_version();
        return read_mode_ != KVW_READ_LEADER && (server < 0 || server >= kTtlServer);  // multi_last: 2.11
    }
    default: return false;
    }
}

const char *Bucket::feature_status(int feature)
{
    if (feature < KVW_FEATURE_TTL || feature > KVW_FEATURE_GET_MANY) return "unknown feature";
    if (supports(feature)) return "supported";
    const int server = client_->server_version();
    const std::string connected =
        server > 0 ? " (connected: nats-server " + version_text(server) + ")" : std::string();
    std::string text;
    switch (feature) {
    case KVW_FEATURE_TTL:
    case KVW_FEATURE_LIMIT_MARKERS: {
        const char *what = feature == KVW_FEATURE_TTL ? "per-key TTL" : "limit markers";
        if (server > 0 && server < kTtlServer)
            text = std::string(what) + " needs nats-server 2.11 or newer" + connected;
        else if (feature == KVW_FEATURE_TTL)
            text = "per-key TTL needs a bucket created with TTL support (allow_ttl) or turned on with "
                   "kvw_bucket_enable_ttl; bucket '" + name_ + "' has allow_msg_ttl off";
        else
            text = "limit markers need a bucket created with limit_marker_ttl_ms or turned on with "
                   "kvw_bucket_enable_ttl; bucket '" + name_ + "' has no subject_delete_marker_ttl";
        break;
    }
    case KVW_FEATURE_TTL_ON_WRITE:
        if (!supports(KVW_FEATURE_TTL)) {
            text = std::string(feature_status(KVW_FEATURE_TTL));
        } else {
            text = "a TTL on put, update or delete needs a bucket with history 1: bucket '" + name_ +
                   "' keeps " + std::to_string(history_.load()) +
                   " revisions per key, and when a record with a TTL expired the revision before it "
                   "would be the key's value again (use create or purge with a TTL)";
        }
        break;
    case KVW_FEATURE_ATOMIC_BATCH:
        text = server > 0 && server < kAtomicServer
                   ? "atomic batches need nats-server 2.12 or newer" + connected
                   : "atomic batches need a bucket whose stream has allow_atomic";
        break;
    case KVW_FEATURE_GET_MANY:
        text = server > 0 && server < kTtlServer
                   ? "multi-key reads need nats-server 2.11 or newer" + connected
                   : "multi-key reads need direct gets: bucket '" + name_ +
                         "' reads through its stream leader (no allow_direct, or read_mode leader)";
        break;
    case KVW_FEATURE_FAST_BATCH:
        text = server > 0 && server < kBatchedServer
                   ? "fast-ingest batches need nats-server 2.14 or newer" + connected
                   : "fast-ingest batches need a bucket whose stream has allow_batched";
        break;
    }
    std::lock_guard<std::mutex> lock(status_mu_);
    for (const std::string &t : status_texts_)
        if (t == text) return t.c_str();
    status_texts_.push_back(std::move(text));
    return status_texts_.back().c_str();
}

int Bucket::enable_ttl(int64_t limit_marker_ttl_ms)
{
    if (limit_marker_ttl_ms < 0) return KVW_EINVAL;
    if (limit_marker_ttl_ms > 0 && check_ttl(limit_marker_ttl_ms) != KVW_OK) return KVW_EBADTTL;
    if (closed() || client_->closed()) return KVW_ECLOSED;
    const int server = client_->server_version();
    if (server >= 0 && server < kTtlServer) return KVW_ENOTSUP;
    json info;
    int rc = api_request(*client_, "$JS.API.STREAM.INFO." + stream_, "", &info);
    if (rc != KVW_OK) return rc;
    // Send back the whole configuration as the server gave it, so fields this
    // kvw does not know stay as they are.
    json cfg = info.value("config", json::object());
    cfg["allow_msg_ttl"] = true;
    if (limit_marker_ttl_ms > 0) cfg["subject_delete_marker_ttl"] = limit_marker_ttl_ms * 1000000;
    rc = api_request(*client_, "$JS.API.STREAM.UPDATE." + stream_, cfg.dump(), &info);
    if (rc != KVW_OK) return rc;
    const StreamFeatures f = features_of(info.value("config", json::object()));
    set_features(f);
    return f.ttl ? KVW_OK : KVW_ENOTSUP;
}

}  // namespace kvw
