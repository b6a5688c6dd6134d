// The client's life: options and the nats.c connection, the registry that
// nats.c's handlers find their client through, close, drain and poll. The ops
// on the wire are in wire.cpp, the timer and sender threads in timers.cpp.
#include "client.h"

#include "errors.h"
#include "headers.h"
#include "keys.h"

#include <vector>

namespace kvw {

namespace {

// nats.c may still run an ack or reply handler after the connection is
// closed, so handlers find their client through this registry (closure = id)
// instead of a pointer that could dangle.
std::shared_mutex g_registry_mu;
std::unordered_map<uint64_t, Client *> g_registry;
std::atomic<uint64_t> g_next_client_id{1};

void *closure_of(uint64_t id) { return reinterpret_cast<void *>(static_cast<uintptr_t>(id)); }
uint64_t id_of(void *closure) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(closure)); }

Client *lookup_locked(void *closure)
{
    auto it = g_registry.find(id_of(closure));
    return it == g_registry.end() ? nullptr : it->second;
}

std::vector<std::string> split_servers(const char *servers)
{
    std::vector<std::string> out;
    std::string cur;
    for (const char *p = servers;; ++p) {
        if (*p == ',' || *p == '\0') {
            size_t b = cur.find_first_not_of(" \t"), e = cur.find_last_not_of(" \t");
            if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
            cur.clear();
            if (*p == '\0') break;
        } else {
            cur += *p;
        }
    }
    return out;
}

bool set(const char *s) { return s != nullptr && *s != '\0'; }

}  // namespace

size_t client_options_size(unsigned int version)
{
    switch (version) {
    case 1: return offsetof(kvw_client_options, resend_after_ms);  // 0.1 ended with `uv_loop`
    case 2: return sizeof(kvw_client_options);
    default: return 0;
    }
}

Client::Client(const kvw_client_options &o)
    : registry_id_(g_next_client_id.fetch_add(1)),
      op_timeout_ms_(o.op_timeout_ms),
      max_inflight_(o.max_inflight),
      resend_after_ms_(o.resend_after_ms),
      // A write's safety-net deadline is op_timeout + 1 s; sweeping ten times
      // per timeout (10 ms..500 ms) finds it at most that much later.
      write_sweep_(std::min<int64_t>(500, std::max<int64_t>(10, o.op_timeout_ms / 10))),
      delivery_(o.delivery)
{
}

int Client::open(std::shared_ptr<Client> *out, const kvw_client_options *opts)
{
    kvw_client_options o = KVW_CLIENT_OPTIONS_INIT;
    if (opts != nullptr) {
        // Only the caller's version's fields: an older program's struct is shorter.
        const size_t n = client_options_size(opts->version);
        if (n == 0) return KVW_EINVAL;
        std::memcpy(static_cast<void *>(&o), opts, n);
    }
    // Zero means "the default", so a zeroed struct with a version is valid.
    const kvw_client_options defaults = KVW_CLIENT_OPTIONS_INIT;
    if (o.connect_timeout_ms == 0) o.connect_timeout_ms = defaults.connect_timeout_ms;
    if (o.op_timeout_ms == 0) o.op_timeout_ms = defaults.op_timeout_ms;
    if (o.max_inflight == 0) o.max_inflight = defaults.max_inflight;
    if (o.reconnect_wait_ms == 0) o.reconnect_wait_ms = defaults.reconnect_wait_ms;
    if (o.max_reconnect == 0) o.max_reconnect = defaults.max_reconnect;
    if (o.resend_after_ms == 0) o.resend_after_ms = defaults.resend_after_ms;
    if (o.resend_after_ms < 0 && o.resend_after_ms != KVW_RESEND_NEVER) return KVW_EINVAL;
    if (o.connect_timeout_ms < 0 || o.op_timeout_ms < 0 || o.max_inflight > (1u << 30) ||
        o.reconnect_wait_ms < 0 || o.max_reconnect < KVW_NO_RECONNECT)
        return KVW_EINVAL;
    const int delivery = enum_bits(o.delivery);
    if (delivery != KVW_DELIVERY_THREAD && delivery != KVW_DELIVERY_LIBUV && delivery != KVW_DELIVERY_POLL)
        return KVW_EINVAL;
    if ((o.delivery == KVW_DELIVERY_LIBUV) != (o.uv_loop != nullptr)) return KVW_EINVAL;
    if (set(o.user) != (o.password != nullptr) || (set(o.tls_cert_file) != set(o.tls_key_file)))
        return KVW_EINVAL;

    std::shared_ptr<Client> c(new (std::nothrow) Client(o));
    if (!c) return KVW_ENOMEM;
    int rc = c->connect(o);
    if (rc != KVW_OK) return rc;  // the destructor releases what connect made

    // The runner holds the client: it lives until delivery has finished.
    std::shared_ptr<Client> self = c;
    rc = c->delivery_.start(o.uv_loop, [self] { self->run_batch(); });
    if (rc != KVW_OK) {
        c->close_now();
        return rc;
    }
    c->timer_ = std::thread([raw = c.get()] { raw->timer_main(); });
    c->sender_ = std::thread([raw = c.get()] { raw->sender_main(); });
    *out = std::move(c);
    return KVW_OK;
}

// nats.c 3.4.1 keeps the server's version (from its INFO) private; this
// exported helper is the only way to read it. Weak: a nats.c built without
// it leaves the version unknown, and features then come from the bucket's
// stream configuration alone.
extern "C" bool natsConn_srvVersionAtLeast(natsConnection *nc, int major, int minor, int update)
    __attribute__((weak));

int Client::server_version() const
{
    if (natsConn_srvVersionAtLeast == nullptr) return KVW_ENOTSUP;
    if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED) return KVW_ENOTCONN;
    auto at_least = [this](int ma, int mi, int up) { return natsConn_srvVersionAtLeast(nc_, ma, mi, up); };
    if (!at_least(0, 0, 1)) return KVW_ENOTSUP;  // the INFO had no version we can read
    // Largest value in [0, 99] for which `ok` holds (ok(0) is true).
    auto largest = [](auto ok) {
        int lo = 0, hi = 99;
        while (lo < hi) {
            const int mid = (lo + hi + 1) / 2;
            if (ok(mid)) lo = mid; else hi = mid - 1;
        }
        return lo;
    };
    const int ma = largest([&](int v) { return at_least(v, 0, 0); });
    const int mi = largest([&](int v) { return at_least(ma, v, 0); });
    const int up = largest([&](int v) { return at_least(ma, mi, v); });
    return ma * 10000 + mi * 100 + up;
}

int Client::connect(const kvw_client_options &o)
{
    natsStatus s = natsOptions_Create(&nopts_);
    if (s != NATS_OK) return from_nats(s);
    std::vector<std::string> urls = split_servers(set(o.servers) ? o.servers : "nats://127.0.0.1:4222");
    if (urls.empty()) return KVW_EINVAL;
    std::vector<const char *> curls;
    for (const std::string &u : urls) curls.push_back(u.c_str());
    s = natsOptions_SetServers(nopts_, curls.data(), static_cast<int>(curls.size()));
    if (s == NATS_OK && set(o.name)) s = natsOptions_SetName(nopts_, o.name);
    if (s == NATS_OK && set(o.user)) s = natsOptions_SetUserInfo(nopts_, o.user, o.password);
    if (s == NATS_OK && set(o.token)) s = natsOptions_SetToken(nopts_, o.token);
    if (s == NATS_OK && set(o.credentials_file))
        s = natsOptions_SetUserCredentialsFromFiles(nopts_, o.credentials_file, nullptr);
    if (s != NATS_OK) return from_nats(s) == KVW_ENOMEM ? KVW_ENOMEM : KVW_EINVAL;
    const bool secure = o.tls_required || set(o.tls_ca_file) || set(o.tls_cert_file);
    if (secure) {
        s = natsOptions_SetSecure(nopts_, true);
        if (s == NATS_OK && set(o.tls_ca_file)) s = natsOptions_LoadCATrustedCertificates(nopts_, o.tls_ca_file);
        if (s == NATS_OK && set(o.tls_cert_file))
            s = natsOptions_LoadCertificatesChain(nopts_, o.tls_cert_file, o.tls_key_file);
        if (s != NATS_OK) return KVW_ETLS;
    }
    s = natsOptions_SetTimeout(nopts_, o.connect_timeout_ms);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(nopts_, o.max_reconnect != KVW_NO_RECONNECT);
    if (s == NATS_OK && o.max_reconnect != KVW_NO_RECONNECT) s = natsOptions_SetMaxReconnect(nopts_, o.max_reconnect);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(nopts_, o.reconnect_wait_ms);
    // nats.c writes to the socket on the submitting thread once its 32 KiB
    // buffer is full, holding the connection lock. Without a deadline a
    // server that stops reading (stalled, paused, a peer gone without a reset)
    // blocks kvw_put in send() for as long as that lasts, and close and every
    // other submitter with it. With one, nats.c gives up the write after
    // op_timeout_ms (by then every op sent on that socket has timed out),
    // drops the connection and reconnects; the ops it held end with
    // KVW_ETIMEDOUT.
    if (s == NATS_OK) s = natsOptions_SetWriteDeadline(nopts_, o.op_timeout_ms);
    // Write each publish to the socket at once. By default nats.c leaves it in
    // its buffer and signals its flusher thread, which waits 1 ms "to
    // accumulate more" before writing: every op with few in flight took
    // >= 1 ms (window 1: ~1 ms p50 against ~130 us for kvStore_Put, which
    // flushes as a request does). With a full window the server's acks pace
    // the writes anyway; the cost is one send() per op on the submitting
    // thread, a non-blocking one (write deadline above).
    if (s == NATS_OK) s = natsOptions_SetSendAsap(nopts_, true);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(nopts_, &Client::on_async_error_cb, closure_of(registry_id_));
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(nopts_, &Client::on_reconnected_cb, closure_of(registry_id_));
    if (s != NATS_OK) return from_nats(s);

    s = natsConnection_Connect(&nc_, nopts_);
    // A server that accepts but never answers is "not connected", not an
    // op whose outcome is unknown.
    if (s == NATS_TIMEOUT) return KVW_ENOTCONN;
    // A server that wants a client certificate and got none (or one it does
    // not trust) drops the connection once TLS is up, before the PONG:
    // nats.c says NATS_PROTOCOL_ERROR, which alone would read as internal.
    if (s == NATS_PROTOCOL_ERROR && secure) return KVW_ETLS;
    // nats.c reads the credentials file only now, and reports a missing or
    // malformed one as a bare NATS_ERR ("server error"): it is the credentials.
    if (s == NATS_ERR && set(o.credentials_file)) return KVW_EAUTH;
    if (s != NATS_OK) return from_nats(s);

    {
        std::unique_lock<std::shared_mutex> lk(g_registry_mu);
        g_registry[registry_id_] = this;
    }

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = op_timeout_ms_;
    jo.PublishAsync.AckHandler = &Client::on_ack_cb;
    jo.PublishAsync.AckHandlerClosure = closure_of(registry_id_);
    s = natsConnection_JetStream(&js_, nc_, &jo);
    if (s != NATS_OK) return from_nats(s);

    natsInbox *inbox = nullptr;
    s = natsInbox_Create(&inbox);
    if (s != NATS_OK) return from_nats(s);
    inbox_ = inbox;
    natsInbox_Destroy(inbox);
    // The inbox ends with a NUID: 12 random characters (71 bits, drawn per
    // process) and a sequence. The random part and a process-wide counter
    // make write ids no other client repeats, in 13-23 characters.
    id_prefix_ = inbox_.substr(inbox_.rfind('.') + 1, kWriteIdPrefixLen);
    s = natsConnection_Subscribe(&inbox_sub_, nc_, (inbox_ + ".*").c_str(), &Client::on_reply_cb,
                                 closure_of(registry_id_));
    // Replies are consumed at once; never drop one as a slow consumer.
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(inbox_sub_, -1, -1);
    if (s == NATS_OK)
        s = natsConnection_Subscribe(&bulk_sub_, nc_, (inbox_ + ".F.>").c_str(), &Client::on_bulk_reply_cb,
                                     closure_of(registry_id_));
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(bulk_sub_, -1, -1);
    return from_nats(s);
}

int Client::open_lane(std::shared_ptr<BulkLane> *out)
{
    {
        // Lanes publish on a connection of their own in nats.c's buffered
        // mode (no SendAsap): a batch's messages then share their writes.
        std::lock_guard<std::mutex> lk(bulk_nc_mu_);
        if (bulk_nc_ == nullptr) {
            natsStatus s = natsOptions_SetSendAsap(nopts_, false);  // the connection copies its options
            natsConnection *nc = nullptr;
            if (s == NATS_OK) s = natsConnection_Connect(&nc, nopts_);
            natsOptions_SetSendAsap(nopts_, true);
            if (s == NATS_TIMEOUT) return KVW_ENOTCONN;
            if (s != NATS_OK) return from_nats(s);
            bulk_nc_ = nc;
        }
    }
    // Batch ids must differ on a stream across clients and processes: the
    // process's random prefix and a process-wide lane number.
    static std::atomic<uint64_t> next{1};
    const uint64_t n = next.fetch_add(1);
    auto lane = std::make_shared<BulkLane>(*this, inbox_ + ".F.", id_prefix_ + "-" + std::to_string(n) + "-");
    std::lock_guard<std::mutex> lk(lanes_mu_);
    lanes_[n] = lane;
    // Not once close has stopped the threads (a bucket opened while the client closes).
    if (!lanes_thread_.joinable() && !lanes_stop_) lanes_thread_ = std::thread([this] { lanes_main(); });
    *out = std::move(lane);
    return KVW_OK;
}

Client::~Client()
{
    {
        std::unique_lock<std::shared_mutex> lk(g_registry_mu);
        g_registry.erase(registry_id_);
    }
    stop_threads();
    if (nc_ != nullptr) natsConnection_Close(nc_);
    if (bulk_nc_ != nullptr) natsConnection_Close(bulk_nc_);
    if (js_ != nullptr) {
        natsMsgList pending{};
        if (published_.load() && js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK)
            natsMsgList_Destroy(&pending);
        jsCtx_Destroy(js_);
    }
    natsSubscription_Destroy(inbox_sub_);
    natsSubscription_Destroy(bulk_sub_);
    natsConnection_Destroy(nc_);
    natsConnection_Destroy(bulk_nc_);
    natsOptions_Destroy(nopts_);
}

bool Client::closed()
{
    std::shared_lock<std::shared_mutex> lk(submit_mu_);
    return closed_;
}

void Client::on_ack_cb(jsCtx *, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    std::shared_lock<std::shared_mutex> lk(g_registry_mu);
    Client *c = lookup_locked(closure);
    bool keep = false;
    // Any failed send may be sent again (no responders, a resend, a check).
    Op *op = c != nullptr ? c->take_write(msg, &keep, pae != nullptr) : nullptr;
    // With an AckHandler the message is ours to free, unless the publish call
    // that sent it is still running (a timeout can come first): publish() then.
    if (!keep) natsMsg_Destroy(msg);
    if (op != nullptr && on_ack(*c, *op, pa, pae)) c->complete(op);
}

void Client::on_reply_cb(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    std::shared_lock<std::shared_mutex> lk(g_registry_mu);
    Client *c = lookup_locked(closure);
    Op *op = nullptr;
    if (c != nullptr) {
        const char *subj = natsMsg_GetSubject(msg);
        const char *dot = subj != nullptr ? std::strrchr(subj, '.') : nullptr;
        if (dot != nullptr) op = c->take_read(std::strtoull(dot + 1, nullptr, 10));
    }
    bool done = op != nullptr && on_reply(*c, *op, msg);
    natsMsg_Destroy(msg);
    if (done) c->complete(op);
}

void Client::on_bulk_reply_cb(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    std::shared_lock<std::shared_mutex> lk(g_registry_mu);
    Client *c = lookup_locked(closure);
    const char *subj = natsMsg_GetSubject(msg);
    // <inbox>.F.<id prefix>-<lane>-<batch>.<flow>.<gap mode>.<seq>.<operation>.$FI
    const size_t skip = c != nullptr ? c->inbox_.size() + 3 + c->id_prefix_.size() + 1 : 0;
    if (c == nullptr || subj == nullptr || std::strlen(subj) <= skip) {
        natsMsg_Destroy(msg);
        return;
    }
    char *p = nullptr;
    const uint64_t lane_no = std::strtoull(subj + skip, &p, 10);
    const uint64_t batch = *p == '-' ? std::strtoull(p + 1, &p, 10) : 0;
    for (int dots = 0; *p != '\0' && dots < 3; ++p) dots += *p == '.';  // past the flow and the gap mode
    const uint64_t seq = std::strtoull(p, &p, 10);
    const int kind = *p == '.' ? static_cast<int>(std::strtol(p + 1, nullptr, 10)) : -1;
    std::shared_ptr<BulkLane> lane;
    {
        std::lock_guard<std::mutex> ll(c->lanes_mu_);
        auto it = c->lanes_.find(lane_no);
        if (it != c->lanes_.end()) lane = it->second.lock();
    }
    if (lane != nullptr && batch != 0) lane->on_reply(batch, seq, kind, msg);
    natsMsg_Destroy(msg);
}

void Client::on_async_error_cb(natsConnection *nc, natsSubscription *, natsStatus err, void *closure)
{
    if (err != NATS_NOT_PERMITTED) return;
    const char *text = nullptr;
    natsConnection_GetLastError(nc, &text);
    const std::string why = text != nullptr ? text : "permission denied";
    const std::string subject = denied_publish_subject(why);
    if (subject.empty()) return;
    std::shared_lock<std::shared_mutex> lk(g_registry_mu);
    if (Client *c = lookup_locked(closure)) c->fail_denied(subject, why);
}

void Client::on_reconnected_cb(natsConnection *, void *closure)
{
    std::shared_lock<std::shared_mutex> lk(g_registry_mu);
    if (Client *c = lookup_locked(closure)) {
        std::lock_guard<std::mutex> tl(c->mu_);
        if (!c->parked_.empty()) {  // send what waited for the connection
            c->reconnected_ = true;
            c->timer_cv_.notify_all();
        }
    }
}

void Client::close_now()
{
    std::lock_guard<std::mutex> once(close_mu_);
    {
        std::unique_lock<std::shared_mutex> lk(submit_mu_);
        if (closed_) return;
        closed_ = true;  // every submit that got in has finished publishing
        closing_.store(true);
    }
    stop_threads();
    if (nc_ != nullptr) natsConnection_Close(nc_);
    {
        std::lock_guard<std::mutex> lk(bulk_nc_mu_);
        if (bulk_nc_ != nullptr) natsConnection_Close(bulk_nc_);
    }

    std::vector<Op *> cancelled;
    // Messages nats.c still tracks come back to us; their ops are cancelled.
    natsMsgList pending{};
    if (js_ != nullptr && published_.load() && js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) {
        for (int i = 0; i < pending.Count; ++i) {
            bool keep = false;
            if (Op *op = take_write(pending.Msgs[i], &keep)) cancelled.push_back(op);
            // A create's next step may be mid-publish on a handler thread: it frees it.
            if (keep) pending.Msgs[i] = nullptr;
        }
        natsMsgList_Destroy(&pending);
    }
    {
        // With the registry held alone no handler is running; later ones see dead_.
        std::unique_lock<std::shared_mutex> reg(g_registry_mu);
        std::lock_guard<std::mutex> lk(mu_);
        dead_ = true;
        for (auto &w : writes_)
            if (w.second.op != nullptr) cancelled.push_back(w.second.op);
        for (auto &r : reads_) cancelled.push_back(r.second);
        for (auto &r : retries_) cancelled.push_back(r.second);
        cancelled.insert(cancelled.end(), parked_.begin(), parked_.end());
        cancelled.insert(cancelled.end(), to_send_.begin(), to_send_.end());
        to_send_.clear();
        writes_.clear();
        reads_.clear();
        retries_.clear();
        parked_.clear();
        read_deadlines_.clear();
        g_registry.erase(registry_id_);
    }
    {
        std::vector<std::shared_ptr<BulkLane>> lanes;
        {
            std::lock_guard<std::mutex> lk(lanes_mu_);
            for (auto &l : lanes_)
                if (auto lane = l.second.lock()) lanes.push_back(std::move(lane));
        }
        for (auto &lane : lanes) lane->take_all(&cancelled);
    }
    // Ops waiting behind a create were never sent.
    for (Op *op : order_.take_all()) cancelled.push_back(op);
    for (Op *op : txn_gate_.take_all()) cancelled.push_back(op);  // commits waiting for a slot
    for (Op *op : cancelled) {
        op->fail(KVW_ECLOSED, "cancelled: the client was closed before the op completed (a write may have landed)");
        complete(op);
    }
    delivery_.finish();
}

int Client::run_batch()
{
    std::lock_guard<std::mutex> one_at_a_time(run_mu_);
    int count = 0;
    delivery_.set_running(true);
    for (;;) {
        std::deque<Op *> batch = delivery_.take_all();
        if (batch.empty()) {
            if (!close_requested_.exchange(false)) break;
            delivery_.set_running(false);
            close_now();  // requested by a callback: cancellations follow in this loop
            delivery_.set_running(true);
            continue;
        }
        for (Op *op : batch) {
            op->deliver();
            delete op;
            inflight_.fetch_sub(1);
            ++count;
        }
    }
    delivery_.set_running(false);
    return count;
}

int Client::close()
{
    if (delivery_.in_callback()) {
        close_requested_.store(true);
        return KVW_OK;
    }
    close_now();
    switch (delivery_.mode()) {
    case KVW_DELIVERY_THREAD: delivery_.join(); break;
    case KVW_DELIVERY_POLL: run_batch(); break;
    case KVW_DELIVERY_LIBUV: break;  // the loop delivers, then closes kvw's handle
    }
    return KVW_OK;
}

int Client::drain(int64_t timeout_ms)
{
    if (delivery_.in_callback()) return KVW_EINVAL;
    {
        std::unique_lock<std::shared_mutex> lk(submit_mu_);  // every submit that got in has sent
        draining_ = true;
    }
    drain_waiting_.store(true);
    bool all = true;
    {
        std::unique_lock<std::mutex> lk(drain_mu_);
        all = drain_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [this] { return undecided_.load() == 0; });
    }
    close();
    return all ? KVW_OK : KVW_ETIMEDOUT;
}

int Client::poll(int timeout_ms)
{
    if (delivery_.mode() != KVW_DELIVERY_POLL) return KVW_EINVAL;
    if (delivery_.in_callback()) return 0;  // no nested delivery
    if (delivery_.empty()) {
        if (delivery_.finished()) return KVW_ECLOSED;
        delivery_.wait(timeout_ms);
    }
    return run_batch();
}

std::shared_ptr<KeyFloors> Client::floors_for(const std::string &stream)
{
    std::lock_guard<std::mutex> lk(floors_mu_);
    std::shared_ptr<KeyFloors> f = floors_[stream].lock();
    if (f == nullptr) {
        f = std::make_shared<KeyFloors>();
        floors_[stream] = f;
    }
    return f;
}

}  // namespace kvw
