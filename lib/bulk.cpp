#include "bulk.h"

#include "bucket.h"
#include "client.h"
#include "errors.h"
#include "ops.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace kvw {

using nlohmann::json;

namespace {

constexpr int kUnknownBatch = 10208;    // the batch is gone (server restart, leader change, idle 10 s)
constexpr int kTooManyBatches = 10211;  // fast batches in flight on the stream or server
constexpr int kStoreFailed = 10077;     // "message could not be stored" (maximum bytes exceeded...)
constexpr auto kSilence = std::chrono::milliseconds(250);  // then ask the server where the batch is
constexpr auto kNoLeaderPause = std::chrono::milliseconds(50);  // before a new batch after "no responders"

}  // namespace

BulkLane::BulkLane(Client &client, std::string reply_prefix, std::string batch_prefix)
    : client_(client), reply_prefix_(std::move(reply_prefix)), batch_prefix_(std::move(batch_prefix))
{
}

int BulkLane::submit(Op *op)
{
    if (op->keep_value() != KVW_OK) return KVW_ENOMEM;
    op->deadline = clock::now() + std::chrono::milliseconds(client_.op_timeout_ms());
    std::vector<Op *> done;
    {
        std::lock_guard<std::mutex> lk(mu_);
        queue_.push_back(op);
        pump(done);
    }
    Client &c = client_;  // a completion may release the last hold on this lane's bucket
    for (Op *d : done) c.complete(d);
    return KVW_OK;
}

const char *BulkLane::reply_subject(uint64_t seq, Kind kind)
{
    // <prefix>.<batch id>.<flow>.<gap mode>.<batch seq>.<operation>.$FI; the
    // buffer is the lane's (under mu_): no allocation per message.
    char tail[96];
    const int n = std::snprintf(tail, sizeof tail, "%llu.%u.fail.%llu.%d.$FI", static_cast<unsigned long long>(batch_),
                                kFlow, static_cast<unsigned long long>(seq), static_cast<int>(kind));
    reply_.assign(reply_prefix_).append(batch_prefix_).append(tail, static_cast<size_t>(n));
    return reply_.c_str();
}

int BulkLane::send(const Op &op, uint64_t seq, Kind kind)
{
    subject_.assign(op.bucket->subject_prefix()).append(op.key);
    const char *reply = reply_subject(seq, kind);
    if (seq == 1) last_subject_ = subject_;
    natsStatus s;
    if (op.kind == KVW_OP_PUT && op.ttl_ms == 0) {  // no headers: the cheapest publish
        s = natsConnection_PublishRequest(client_.bulk_connection(), subject_.c_str(), reply, op.value.data(),
                                          static_cast<int>(op.value.size()));
    } else {
        natsMsg *msg = nullptr;
        s = natsMsg_Create(&msg, subject_.c_str(), reply, op.value.data(), static_cast<int>(op.value.size()));
        if (s == NATS_OK) s = set_write_headers(msg, op);
        if (s == NATS_OK) s = natsConnection_PublishMsg(client_.bulk_connection(), msg);
        natsMsg_Destroy(msg);
    }
    return from_nats(s);
}

int BulkLane::send_empty(uint64_t seq, Kind kind)
{
    const char *reply = reply_subject(seq, kind);
    return from_nats(natsConnection_PublishRequest(client_.bulk_connection(), last_subject_.c_str(), reply, nullptr, 0));
}

void BulkLane::pump(std::vector<Op *> &done)
{
    if (state_ == State::Idle && clock::now() < paused_until_) return;
    while (!queue_.empty()) {
        if (state_ == State::Idle) {
            ++batch_;
            next_seq_ = 1;
            acked_ = 0;
            ack_every_ = 1;
            ending_ = false;
        } else if (state_ != State::Open || ending_ || next_seq_ - 1 >= acked_ + kSpansAhead * ack_every_) {
            return;  // waiting for the first reply, the commit's ack, or room in the window
        }
        Op *op = queue_.front();
        queue_.pop_front();
        // The write that empties the queue commits the batch: a lone write is
        // a batch of one (one message, one ack with its version). After a
        // refusal writes go alone until one is stored: a full bucket would
        // otherwise have kvw send a window of writes behind each refused one.
        const bool last = queue_.empty() || (probing_ && next_seq_ == 1);
        const Kind kind = last ? kCommit : next_seq_ == 1 ? kStart : kAppend;
        const int rc = send(*op, next_seq_, kind);
        if (rc != KVW_OK) {  // nothing sent (connection closed, reconnect buffer full)
            if (client_.closing())
                op->fail(KVW_ECLOSED, "cancelled: the client was closed before the write was sent; nothing was stored");
            else
                op->fail(rc, std::string("bulk write: sending failed: ") + kvw_strerror(rc) + "; nothing was stored");
            done.push_back(op);
            if (state_ == State::Open && queue_.empty() && send_empty(next_seq_, kEndOfBatch) == KVW_OK)
                state_ = State::Committing;
            continue;
        }
        if (state_ == State::Idle) last_heard_ = clock::now();
        sent_.push_back(Sent{next_seq_++, op});
        if (last) {
            state_ = State::Committing;
            return;
        }
        if (state_ == State::Idle) {
            state_ = State::Starting;  // ADR-50: wait for the first reply before sending more
            return;
        }
    }
}

void BulkLane::stored_through(uint64_t seq, uint64_t version, std::vector<Op *> &done)
{
    while (!sent_.empty() && sent_.front().seq <= seq) {
        Op *op = sent_.front().op;
        op->status = KVW_OK;
        op->message.clear();
        // The server's periodic acks do not say which version each write got;
        // the commit's ack says the last one's.
        op->version = sent_.front().seq == seq ? version : 0;
        sent_.pop_front();
        done.push_back(op);
        probing_ = false;
    }
    if (seq > acked_) acked_ = seq;
}

void BulkLane::refuse(uint64_t seq, const nlohmann::json &error, std::vector<Op *> &done)
{
    for (auto it = sent_.begin(); it != sent_.end(); ++it) {
        if (it->seq != seq) continue;
        Op *op = it->op;
        op->server_error = error.value("err_code", 0);
        op->fail(op->server_error == kTooManyBatches ? KVW_EBUSY
                                                     : from_nats(NATS_ERR, static_cast<jsErrCode>(op->server_error)),
                 error.value("description", std::string("refused")) + "; nothing was stored");
        sent_.erase(it);
        done.push_back(op);
        probing_ = true;
        return;
    }
}

void BulkLane::requeue_from(uint64_t seq)
{
    while (!sent_.empty() && sent_.back().seq >= seq) {
        queue_.push_front(sent_.back().op);
        sent_.pop_back();
    }
}

void BulkLane::unknown_before(uint64_t seq, const std::string &why, std::vector<Op *> &done)
{
    while (!sent_.empty() && sent_.front().seq < seq) {
        Op *op = sent_.front().op;
        sent_.pop_front();
        op->fail(KVW_ETIMEDOUT, "bulk write: " + why + ": the outcome is unknown");
        done.push_back(op);
    }
}

void BulkLane::end_batch()
{
    state_ = State::Idle;
    ending_ = false;
}

void BulkLane::on_reply(uint64_t batch, uint64_t seq, int kind, natsMsg *reply)
{
    const char *data = natsMsg_GetData(reply);
    const int len = natsMsg_GetDataLength(reply);
    const json j = json::parse(data != nullptr ? data : "", data != nullptr ? data + len : nullptr, nullptr, false);
    std::vector<Op *> done;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (batch != batch_ || state_ == State::Idle) return;  // an earlier batch's
        if (natsMsg_IsNoResponders(reply) && seq == 1 && kind != kPing) {
            // No stream leader took the batch's first message (an election):
            // nothing of it was stored, and nothing else was sent in it.
            requeue_from(1);
            end_batch();
            paused_until_ = clock::now() + kNoLeaderPause;  // the tick sends it again
            return;
        }
        if (!j.is_object()) return;
        last_heard_ = clock::now();
        const std::string type = j.value("type", std::string());
        if (type == "ack") {  // every message up to `seq` is stored
            if (state_ == State::Starting) state_ = State::Open;
            ack_every_ = std::max(1u, j.value("msgs", 1u));
            stored_through(j.value("seq", uint64_t(0)), 0, done);
        } else if (type == "err") {  // that message was refused; the server commits what came before it
            const uint64_t bad = j.value("seq", uint64_t(0));
            const json e = j.value("error", json::object());
            refuse(bad, e, done);
            ending_ = true;
        } else if (type == "gap") {  // a message was lost: the server commits what it has
            ending_ = true;
        } else if (j.contains("error") && j["error"].is_object()) {  // the message `seq` was refused
            const json &e = j["error"];
            const int code = e.value("err_code", 0);
            if (kind == kPing) {  // the batch is gone (cleaned up, or the server restarted)
                unknown_before(UINT64_MAX, "the server no longer knows its batch", done);
                end_batch();
            } else if (code == kUnknownBatch) {
                // Nothing from `seq` on was stored; before it, unacked writes may have been.
                unknown_before(seq, "the server lost its batch (restart or leader change)", done);
                requeue_from(seq);
                end_batch();
            } else {
                refuse(seq, e, done);
                if (state_ == State::Starting) {
                    end_batch();  // its first message was refused: the batch never opened
                } else if (code == kStoreFailed) {
                    // Refused when stored (bucket full): the server stores in
                    // order and reports refusals in order, so every earlier
                    // write without a refusal of its own is stored. The batch
                    // goes on, but nats-server 2.14-2.15 never acks one whose
                    // last message failed this way: leave it.
                    stored_through(seq - 1, 0, done);
                    if (seq + 1 == next_seq_ && state_ == State::Committing) end_batch();
                } else {
                    // Refused before the batch counted it (limits): the next
                    // message makes a gap, and the server ends the batch.
                    if (!ending_ && seq + 1 == next_seq_) send_empty(next_seq_, kEndOfBatch);
                    ending_ = true;
                }
            }
        } else if (j.contains("count")) {  // the commit's publish ack: messages 1..count are stored
            const uint64_t count = j.value("count", uint64_t(0));
            stored_through(count, j.value("seq", uint64_t(0)), done);
            requeue_from(count + 1);  // skipped after a refusal or a gap: never stored
            end_batch();
        }
        pump(done);
    }
    Client &c = client_;
    for (Op *op : done) c.complete(op);
}

void BulkLane::tick(clock::time_point now)
{
    std::vector<Op *> done;
    {
        std::lock_guard<std::mutex> lk(mu_);
        const bool connected = natsConnection_Status(client_.bulk_connection()) == NATS_CONN_STATUS_CONNECTED;
        for (auto it = queue_.begin(); it != queue_.end();) {
            if ((*it)->deadline > now) {
                ++it;
                continue;
            }
            Op *op = *it;
            it = queue_.erase(it);
            // Never sent, so certainly not stored: KVW_ENOTCONN, as for a
            // single write that found no JetStream responder until its deadline.
            op->fail(KVW_ENOTCONN, connected ? "bulk write: not sent before its deadline, the batch ahead of it "
                                               "unacknowledged (no stream leader, or a slow server); nothing was "
                                               "stored"
                                             : "bulk write: not connected until its deadline; nothing was stored");
            done.push_back(op);
        }
        bool late = false;
        for (const Sent &s : sent_) late = late || s.op->deadline <= now;
        if (late) {  // give the batch up: its unacked writes may have landed
            unknown_before(UINT64_MAX, "no acknowledgement within " + std::to_string(client_.op_timeout_ms()) + " ms",
                           done);
            end_batch();
        } else if (state_ != State::Idle && now - last_heard_ >= kSilence && connected) {
            // The server answers a ping with its last ack, or ends the batch
            // when messages were lost (a gap), or says it no longer knows it.
            send_empty(next_seq_ - 1, kPing);
            last_heard_ = now;
        }
        pump(done);
    }
    Client &c = client_;
    for (Op *op : done) c.complete(op);
}

void BulkLane::take_all(std::vector<Op *> *out)
{
    std::lock_guard<std::mutex> lk(mu_);
    for (const Sent &s : sent_) out->push_back(s.op);
    out->insert(out->end(), queue_.begin(), queue_.end());
    sent_.clear();
    queue_.clear();
    state_ = State::Idle;
}

}  // namespace kvw
