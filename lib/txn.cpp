#include "txn.h"

#include "bucket.h"
#include "errors.h"
#include "headers.h"
#include "ops.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace kvw {

namespace {

using nlohmann::json;

// A create that met a DEL/PURGE marker is sent again over it, like the
// single op's CAS over the marker; a bounded number of times.
constexpr int kMaxTriesOverMarker = 3;
constexpr int kBatchDisabled = 10174;      // the stream has allow_atomic off
constexpr int kTooManyBatches = 10210;     // too many batches in flight on the stream

// Message `i` of the batch, with `reply` (or none).
natsStatus build(const Bucket &b, const Txn &t, size_t i, const char *reply, natsMsg **out)
{
    const TxnWrite &w = t.writes[i];
    const std::string subject = b.subject(w.key);
    natsStatus s = natsMsg_Create(out, subject.c_str(), reply, w.value.data(), static_cast<int>(w.value.size()));
    if (s != NATS_OK) return s;
    natsMsg *m = *out;
    const std::string seq = std::to_string(i + 1);
    s = natsMsgHeader_Set(m, hdr::kBatchId, t.batch_id.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, hdr::kBatchSequence, seq.c_str());
    if (s == NATS_OK && i + 1 == t.writes.size()) s = natsMsgHeader_Set(m, hdr::kBatchCommit, "1");
    if (s == NATS_OK && w.kind == KVW_OP_DELETE) s = natsMsgHeader_Set(m, hdr::kOperation, "DEL");
    if (s == NATS_OK && w.checked())
        s = natsMsgHeader_Set(m, hdr::kExpectedLastSubjectSeq, std::to_string(w.expected).c_str());
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        *out = nullptr;
    }
    return s;
}

// Nothing of the batch was received: start it again under a new id until
// the op's deadline. true: the op is finished.
bool no_responders(Wire &wire, Op &op)
{
    op.step = Op::Step::TxnStart;
    if (wire.retry_later(&op, false)) return false;
    op.fail(KVW_ENOTCONN, "no JetStream responder for the bucket until the commit's deadline (" +
                              std::to_string(op.retries + 1) +
                              " tries): no stream leader (election, restart) or the bucket was deleted; "
                              "nothing was stored");
    return true;
}

// The index of the write a refused commit failed on, from what is known:
// the key of the record at the version the server named (`key`, may be
// null), else the only write that could have failed. -1: cannot tell.
long failed_write(const Txn &t, const char *key, uint64_t seen)
{
    long found = -1;
    int candidates = 0;
    for (size_t i = 0; i < t.writes.size(); i++) {
        const TxnWrite &w = t.writes[i];
        if (!w.checked()) continue;
        if (key != nullptr) {
            if (w.key == key) return static_cast<long>(i);
            continue;
        }
        // "wrong last sequence: 0": the key has no record, so it expected one.
        if (seen == 0 && w.expected == 0) continue;
        found = static_cast<long>(i);
        candidates++;
    }
    return key == nullptr && candidates == 1 ? found : -1;
}

// A refused commit whose failing write is known as far as it can be.
// `record`: the record at t.conflict_seq, or null when unread.
bool conflicted(Wire &wire, Op &op, const char *key, kvw_entry_op record)
{
    Txn &t = *op.txn;
    const std::string text = std::move(op.message);
    op.message.clear();
    const long i = failed_write(t, key, t.conflict_seq);
    if (i < 0) {
        op.fail(KVW_ECONFLICT, "transaction refused: an expectation failed (" + text +
                                   "), on a key the server's answer does not name; nothing was stored");
        return true;
    }
    TxnWrite &w = t.writes[static_cast<size_t>(i)];
    op.key = w.key;
    op.version = t.conflict_seq;
    const std::string which = "write " + std::to_string(i) + " (" + kvw_op_name(w.kind) + " of '" + w.key + "')";
    if (w.kind != KVW_OP_CREATE) {
        op.fail(KVW_ECONFLICT, "transaction refused: " + which + " expected version " + std::to_string(w.expected) +
                                   " (" + text + "); nothing was stored");
        return true;
    }
    const bool marker = record == KVW_ENTRY_DELETE || record == KVW_ENTRY_PURGE;
    if (marker && t.conflict_seq != w.expected && t.tries_over_marker < kMaxTriesOverMarker) {
        t.tries_over_marker++;
        w.expected = t.conflict_seq;  // create over the marker: a CAS on it
        op.key.clear();
        op.version = 0;
        op.server_error = 0;
        op.step = Op::Step::TxnStart;
        const int rc = send_txn_step(wire, op);
        if (rc == KVW_OK) return false;
        op.fail(rc, std::string("transaction: sending it again over a delete marker failed: ") + kvw_strerror(rc) +
                        "; nothing was stored");
        return true;
    }
    op.fail(KVW_EEXIST, "transaction refused: " + which + ": key already exists" +
                            (marker ? " (its marker kept changing)" : "") + "; nothing was stored");
    return true;
}

}  // namespace

bool TxnGate::admit(Op *op)
{
    std::lock_guard<std::mutex> lk(mu_);
    if (open_ >= kMaxOpen) {
        waiting_.push_back(op);
        return false;
    }
    ++open_;
    op->txn_open = true;
    return true;
}

Op *TxnGate::release()
{
    std::lock_guard<std::mutex> lk(mu_);
    if (waiting_.empty()) {
        --open_;
        return nullptr;
    }
    Op *next = waiting_.front();  // takes over the slot
    waiting_.pop_front();
    next->txn_open = true;
    return next;
}

std::vector<Op *> TxnGate::take_all()
{
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<Op *> all(waiting_.begin(), waiting_.end());
    waiting_.clear();
    return all;
}

int send_txn_step(Wire &wire, Op &op)
{
    Txn &t = *op.txn;
    if (op.step == Op::Step::TxnWho) {
        // A replica may not have the key's newest record yet; the leader has.
        if (op.bucket->floors() != nullptr) op.via_leader = true;
        return wire.request(&op, "{\"seq\":" + std::to_string(t.conflict_seq) + "}");
    }
    // TxnStart sends the first message (with one write: the commit), TxnCommit the rest.
    if (op.step == Op::Step::TxnStart) t.batch_id = wire.write_id_text(wire.next_write_id());
    const size_t from = op.step == Op::Step::TxnStart ? 0 : 1;
    const size_t to = op.step == Op::Step::TxnStart ? 1 : t.writes.size();
    std::string reply;
    const uint64_t token = wire.reply_subject(&reply);
    std::vector<natsMsg *> msgs;
    msgs.reserve(to - from);
    for (size_t i = from; i < to; i++) {
        natsMsg *m = nullptr;
        const natsStatus s = build(*op.bucket, t, i, i + 1 == to ? reply.c_str() : nullptr, &m);
        if (s != NATS_OK) {
            for (natsMsg *done : msgs) natsMsg_Destroy(done);
            return from_nats(s);
        }
        msgs.push_back(m);
    }
    return wire.send_batch(&op, token, msgs);
}

bool on_txn_reply(Wire &wire, Op &op, natsMsg *reply)
{
    Txn &t = *op.txn;
    const bool commit = op.step == Op::Step::TxnCommit || t.writes.size() == 1;
    if (natsMsg_IsNoResponders(reply)) return no_responders(wire, op);
    const char *data = natsMsg_GetData(reply);
    const int len = natsMsg_GetDataLength(reply);
    if (len == 0 && !commit && header(reply, "Status") == nullptr) {  // the batch is open: send the rest
        op.step = Op::Step::TxnCommit;
        const int rc = send_txn_step(wire, op);
        if (rc == KVW_OK) return false;
        // The commit was not sent: the server drops the open batch after 10 s.
        op.fail(rc, std::string("transaction: sending its writes failed: ") + kvw_strerror(rc) +
                        "; nothing was stored");
        return true;
    }
    const json j = json::parse(data != nullptr ? data : "", data != nullptr ? data + len : nullptr, nullptr, false);
    if (!j.is_object()) {
        const char *status = header(reply, "Status");
        const std::string what = std::to_string(len) + " bytes" + (status != nullptr ? std::string(", status ") + status : "");
        if (commit)
            op.fail(KVW_ETIMEDOUT, "transaction: a reply to its commit kvw cannot read (" + what + "): the outcome is unknown");
        else
            op.fail(KVW_ESERVER, "transaction: unexpected reply to its first write (" + what + "); nothing was stored");
        return true;
    }
    if (j.contains("error") && j["error"].is_object()) {
        const json &e = j["error"];
        const int code = e.value("err_code", 0);
        const std::string text = e.value("description", std::string("transaction refused"));
        op.server_error = code;
        int kvw_code = from_nats(NATS_ERR, static_cast<jsErrCode>(code));
        if (kvw_code == KVW_ECONFLICT) {
            t.conflict_seq = last_sequence_in(text.c_str());
            op.message = text;
            if (t.conflict_seq != 0) {  // the record there names the key
                op.step = Op::Step::TxnWho;
                if (send_txn_step(wire, op) == KVW_OK) return false;
            }
            return conflicted(wire, op, nullptr, KVW_ENTRY_NONE);
        }
        if (code == kBatchDisabled) kvw_code = KVW_ENOTSUP;
        if (code == kTooManyBatches) kvw_code = KVW_EBUSY;
        op.fail(kvw_code, "transaction refused: " + text + "; nothing was stored");
        return true;
    }
    if (!commit) {
        op.fail(KVW_ESERVER, "transaction: unexpected reply to its first write: " + j.dump());
        return true;
    }
    const uint64_t seq = j.value("seq", uint64_t(0));
    const uint64_t count = j.value("count", uint64_t(0));
    if (seq == 0 || count != t.writes.size() || seq < count) {
        op.fail(KVW_ETIMEDOUT, "transaction: a commit acknowledgement kvw cannot read (" + j.dump() +
                                   "): the outcome is unknown");
        return true;
    }
    op.status = KVW_OK;
    op.message.clear();
    op.server_error = 0;
    op.version = seq - count + 1;  // the batch's messages are stored one after the other
    op.txn_writes = static_cast<size_t>(count);
    return true;
}

bool on_txn_record(Wire &wire, Op &op, natsMsg *record)
{
    const Record r = parse_record(record);
    if (r.status != KVW_OK || r.version != op.txn->conflict_seq)
        return conflicted(wire, op, nullptr, KVW_ENTRY_NONE);
    const char *subject = header(record, hdr::kSubject);
    if (subject == nullptr) subject = natsMsg_GetSubject(record);  // a leader read's, rebuilt
    const std::string prefix = op.bucket->subject("");
    if (subject == nullptr || std::strncmp(subject, prefix.c_str(), prefix.size()) != 0)
        return conflicted(wire, op, nullptr, KVW_ENTRY_NONE);
    return conflicted(wire, op, subject + prefix.size(), r.op);
}

}  // namespace kvw
