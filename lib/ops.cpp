#include "ops.h"

#include "bucket.h"
#include "errors.h"
#include "floors.h"
#include "headers.h"
#include "msg_get.h"
#include "version.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace kvw {

namespace {

// A revision as the server writes it: decimal digits only, > 0, fits in a
// u64. Anything else gives 0 (strtoull would take "-1", " 7" or "7x").
uint64_t revision_in(const char *text)
{
    if (text == nullptr || *text == '\0') return 0;
    uint64_t v = 0;
    for (const char *p = text; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9') return 0;
        const uint64_t d = static_cast<uint64_t>(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    return v;
}

}  // namespace

Record parse_record(natsMsg *reply)
{
    Record r;
    // Parse the header block once, up front. nats.c parses it lazily at each
    // lookup and, when it is malformed, fails part-way through and parses the
    // half-rewritten block again at the next lookup, so separate lookups could
    // disagree (found by tests/fuzz/fuzz_record.cpp).
    const char **keys = nullptr;
    int count = 0;
    const natsStatus hs = natsMsgHeader_Keys(reply, &keys, &count);
    std::free(static_cast<void *>(keys));
    if (hs != NATS_OK && hs != NATS_NOT_FOUND) {
        r.status = KVW_ESERVER;
        r.message = "direct get reply with malformed headers";
        return r;
    }
    if (natsMsg_IsNoResponders(reply)) {
        r.status = KVW_ENOTCONN;
        r.message = "no responders for the direct get: JetStream is not available for the bucket "
                    "(restarting, electing a leader, or the bucket was deleted)";
        return r;
    }
    if (const char *status = header(reply, "Status")) {
        const char *desc = header(reply, "Description");
        r.status = std::strcmp(status, "404") == 0 ? KVW_ENOTFOUND : KVW_ESERVER;
        r.message = std::string("direct get: ") + status + " " + (desc != nullptr ? desc : "");
        return r;
    }
    const char *seq = header(reply, "Nats-Sequence");
    r.version = revision_in(seq);
    if (r.version == 0) {
        r.status = KVW_ESERVER;
        r.message = "direct get reply without a valid Nats-Sequence";
        return r;
    }
    const char *op = header(reply, hdr::kOperation);
    r.op = op == nullptr ? KVW_ENTRY_PUT
         : std::strcmp(op, "DEL") == 0 ? KVW_ENTRY_DELETE
         : std::strcmp(op, "PURGE") == 0 ? KVW_ENTRY_PURGE
         : KVW_ENTRY_PUT;
    // A marker the server wrote when a key aged out carries no KV-Operation.
    if (op == nullptr) {
        const kvw_entry_op marker = marker_entry_op(header(reply, hdr::kMarkerReason));
        if (marker != KVW_ENTRY_NONE) r.op = marker;
    }
    if (!parse_ttl(header(reply, hdr::kTtl), &r.ttl_ms)) r.ttl_ms = 0;
    return r;
}

namespace {

// create's first step is refused with "wrong last sequence" when the subject
// holds any record; the probe decides. A probe that finds nothing (the record
// went away) starts over, a bounded number of times.
constexpr int kMaxCreateProbes = 3;

}  // namespace

int Op::keep_value()
{
    if (borrowed != nullptr) {
        try {
            value.assign(borrowed, borrowed_len);
        } catch (const std::bad_alloc &) {
            return KVW_ENOMEM;
        }
        borrowed = nullptr;
        borrowed_len = 0;
    }
    return KVW_OK;
}

void Op::fail(int code, std::string msg)
{
    status = code;
    message = std::move(msg);
}

void Op::deliver() const
{
    kvw_result r;
    std::memset(&r, 0, sizeof r);
    r.status = status;
    r.message = message.empty() ? kvw_strerror(status) : message.c_str();
    r.op = kind;
    r.key = key.c_str();
    r.version = make_version(version);
    r.server_error = server_error;
    r.entry_op = entry_op;
    r.value = read_value.data();
    r.value_len = read_value.size();
    r.ttl_ms = read_ttl_ms;
    r.txn_writes = txn_writes;
    if (many != nullptr && status == KVW_OK) {
        try {
            build_many_results(*many);
            r.entries = many->results.data();
            r.entry_count = many->results.size();
        } catch (const std::bad_alloc &) {
            r.status = KVW_ENOMEM;
            r.message = "out of memory building the records";
            r.version = make_version(0);
        }
    }
    cb(&r, user_data);
}

void Op::go_to(Step s)
{
    step = s;
    write_id = 0;
    sends = 0;
}

natsStatus set_write_headers(natsMsg *msg, const Op &op)
{
    natsStatus s = NATS_OK;
    if (op.kind == KVW_OP_DELETE) s = natsMsgHeader_Set(msg, hdr::kOperation, "DEL");
    if (op.kind == KVW_OP_PURGE) {
        s = natsMsgHeader_Set(msg, hdr::kOperation, "PURGE");
        if (s == NATS_OK) s = natsMsgHeader_Set(msg, hdr::kRollup, "sub");
    }
    if (s == NATS_OK && op.ttl_ms != 0) s = natsMsgHeader_Set(msg, hdr::kTtl, format_ttl(op.ttl_ms).c_str());
    return s;
}

int send_step(Wire &wire, Op &op)
{
    if (op.kind == KVW_OP_TXN) return send_txn_step(wire, op);
    if (op.kind == KVW_OP_GET_MANY) return send_many_step(wire, op);
    const Bucket &b = *op.bucket;
    const std::string subject = b.subject(op.key);
    if (op.kind == KVW_OP_GET || op.kind == KVW_OP_GET_ENTRY || op.step == Op::Step::Resolve ||
        (op.kind == KVW_OP_CREATE && op.step == Op::Step::Probe))
        return wire.request(&op, last_by_subject_request(subject));
    if (op.step == Op::Step::CheckOwn)  // the first record after the expected one
        return wire.request(&op, "{\"seq\":" + std::to_string(op.expected_at(op.checked) + 1) +
                                       ",\"next_by_subj\":\"" + subject + "\"}");

    const bool carries_value = op.kind == KVW_OP_PUT || op.kind == KVW_OP_CREATE || op.kind == KVW_OP_UPDATE;
    const char *data = "";
    size_t len = 0;
    if (carries_value && op.borrowed != nullptr) {
        data = op.borrowed;
        len = op.borrowed_len;
    } else if (carries_value) {
        data = op.value.data();
        len = op.value.size();
    }
    natsMsg *msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data, static_cast<int>(len));
    op.borrowed = nullptr;  // the submit call that lent it is about to return
    op.borrowed_len = 0;
    if (s != NATS_OK) return from_nats(s);
    // Only create may send again; other ops need not keep their payload.
    if (op.kind != KVW_OP_CREATE) std::string().swap(op.value);

    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = wire.max_wait_ms(op);
    std::string id;
    if (op.with_id) {
        if (op.write_id == 0) {
            op.write_id = wire.next_write_id();
            op.id_sent_at = std::chrono::steady_clock::now();
        }
        ++op.sends;
        id = wire.write_id_text(op.write_id);
        po.MsgId = id.c_str();
    }
    switch (op.kind) {
    case KVW_OP_CREATE:
        if (op.step == Op::Step::Send)
            po.ExpectNoMessage = true;
        else
            po.ExpectLastSubjectSeq = op.expected;
        break;
    case KVW_OP_UPDATE:
    case KVW_OP_DELETE_WITH_VERSION: po.ExpectLastSubjectSeq = op.expected; break;
    default: break;
    }
    s = set_write_headers(msg, op);
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        return from_nats(s);
    }
    return wire.publish(&op, msg, &po);
}

namespace {

// The conflict stands (it was not this op's own earlier send): create reads
// the key next, the other CAS ops end with it. `text` says why.
bool conflicted(Wire &wire, Op &op, const std::string &text)
{
    if (op.kind == KVW_OP_CREATE) {
        if (op.step == Op::Step::Send) {
            op.go_to(Op::Step::Probe);
            int rc = send_step(wire, op);
            if (rc == KVW_OK) return false;
            op.fail(rc, std::string("create: reading the key's latest record failed: ") + kvw_strerror(rc));
            return true;
        }
        // Someone wrote over the same marker first: they created it.
        op.fail(KVW_EEXIST, "key already exists (another writer won the create: " + text + ")");
        return true;
    }
    if (op.version == 0) {
        // 10164: a replicated stream refuses a CAS while another write to the
        // key is in flight, before that write is stored; readers still see
        // the expected version. Reporting a conflict now could contradict a
        // read made after it, so ask the leader which it is.
        op.message = text;
        op.checked = op.step;
        op.step = Op::Step::Resolve;
        op.via_leader = true;
        if (send_step(wire, op) == KVW_OK) return false;
        op.step = op.checked;
    }
    if (op.version == 0)
        op.fail(KVW_ECONFLICT, text + " (the server did not say the key's current version)");
    else
        op.fail(KVW_ECONFLICT, text);
    return true;
}

constexpr int kDuplicateInProcess = 10158;  // a resend while its first send is being replicated
// Reads again of a leader behind a key's floor: 25 + 50 + 100 + 200 + 400 ms.
constexpr int kLeaderCatchUpRetries = 5;

}  // namespace

bool on_ack(Wire &wire, Op &op, const jsPubAck *pa, const jsPubAckErr *pae)
{
    if (pa != nullptr) {  // a resend of a stored write is acked as a duplicate, with its version
        op.status = KVW_OK;
        op.version = pa->Sequence;
        return true;
    }
    const natsStatus err = pae != nullptr ? pae->Err : NATS_ERR;
    const jsErrCode js_err = pae != nullptr ? pae->ErrCode : static_cast<jsErrCode>(0);
    const char *text = pae != nullptr && pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(err);
    int code = from_nats(err, js_err);
    op.server_error = static_cast<int>(js_err);
    // No stream received it (no leader yet, JetStream restarting): sending it
    // again is safe, until the op's deadline. With a write id, so is sending
    // it again when no ack came, or while its first send is in process.
    if (err == NATS_NO_RESPONDERS && wire.retry_later(&op, false)) return false;
    if (err == NATS_TIMEOUT) op.maybe_stored = true;
    if (err == NATS_TIMEOUT && op.with_id && wire.retry_later(&op, true)) return false;
    if (static_cast<int>(js_err) == kDuplicateInProcess && wire.retry_later(&op, false)) return false;

    if (code == KVW_ECONFLICT) {
        op.version = last_sequence_in(text);  // 0 (unknown) for 10164
        // A resend refused as a conflict may conflict with its own first send
        // (nats-server 2.12+ checks a stream's expectations before its write
        // ids): read the record after the expected one and compare ids.
        if (op.sends > 1) {
            op.message = text;
            op.checked = op.step;
            op.step = Op::Step::CheckOwn;
            int rc = send_step(wire, op);
            if (rc == KVW_OK) return false;
            op.step = op.checked;
        }
        return conflicted(wire, op, text);
    }
    const bool before_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(5) < op.deadline;
    if (code == KVW_ETIMEDOUT && op.with_id && before_deadline)  // retry_later refused: the window
        op.fail(KVW_ETIMEDOUT, "no acknowledgement, and a resend would come after the bucket's duplicate window (" +
                                   std::to_string(op.bucket->duplicate_window_ms()) +
                                   " ms), when the stream no longer knows the write id: the outcome is unknown");
    // An earlier send timed out: whatever this one says, that one may have landed.
    else if (code == KVW_ETIMEDOUT || static_cast<int>(js_err) == kDuplicateInProcess ||
        (op.maybe_stored && (err == NATS_NO_RESPONDERS || code == KVW_ENOTCONN)))
        op.fail(KVW_ETIMEDOUT, "no acknowledgement within " + std::to_string(wire.op_timeout_ms()) + " ms" +
                                   (op.sends > 1 ? " (" + std::to_string(op.sends) + " sends)" : std::string()) +
                                   ": the outcome is unknown");
    else if (err == NATS_NO_RESPONDERS)
        op.fail(code, "no JetStream responder for the bucket until the op's deadline (" +
                          std::to_string(op.retries + 1) +
                          " tries): no stream leader (election, restart) or the bucket was deleted; "
                          "nothing was stored");
    else
        op.fail(code, text);
    return true;
}

namespace {

// Reads the record again through the stream leader. false: could not send
// (the op has failed).
bool read_from_leader(Wire &wire, Op &op)
{
    op.via_leader = true;
    const int rc = send_step(wire, op);
    if (rc == KVW_OK) return true;
    op.fail(rc, std::string("reading through the stream leader failed: ") + kvw_strerror(rc));
    return false;
}

bool on_record(Wire &wire, Op &op, natsMsg *reply);

}  // namespace

bool on_reply(Wire &wire, Op &op, natsMsg *reply)
{
    if (op.kind == KVW_OP_GET_MANY) return on_many_reply(wire, op, reply);
    const bool txn = op.kind == KVW_OP_TXN;
    if (txn && op.step != Op::Step::TxnWho) return on_txn_reply(wire, op, reply);
    if (!op.via_leader) return txn ? on_txn_record(wire, op, reply) : on_record(wire, op, reply);
    natsMsg *direct = nullptr;
    if (msg_get_as_direct(reply, &direct) != NATS_OK) {
        natsMsg_Destroy(direct);
        op.fail(KVW_ENOMEM, "reading the stream leader's reply: out of memory");
        return true;
    }
    natsMsg *record = direct != nullptr ? direct : reply;
    const bool done = txn ? on_txn_record(wire, op, record) : on_record(wire, op, record);
    natsMsg_Destroy(direct);
    return done;
}

namespace {

bool on_record(Wire &wire, Op &op, natsMsg *reply)
{
    Record r = parse_record(reply);
    // As for writes: nobody answered, so asking again is safe until the deadline.
    if (r.status == KVW_ENOTCONN && wire.retry_later(&op, false)) return false;  // ENOTCONN: no responders
    if (op.step == Op::Step::Resolve) {
        const std::string text = std::move(op.message);
        op.message.clear();
        if (r.status == KVW_OK && r.version == op.expected) {
            // Still the expected version: the write in flight is not stored
            // (yet). Send the CAS again; it meets that write's outcome.
            op.go_to(op.checked);
            if (wire.retry_later(&op, false)) return false;
            op.fail(KVW_ECONFLICT, text + " (another write to the key was still in flight at the op's deadline)");
            return true;
        }
        op.step = op.checked;
        if (r.status == KVW_OK) {
            op.version = r.version;
            op.fail(KVW_ECONFLICT, text + " (the key is at version " + std::to_string(r.version) +
                                       ", read from the stream leader)");
        } else {
            op.fail(KVW_ECONFLICT, text + " (the server did not say the key's current version)");
        }
        return true;
    }
    if (op.step == Op::Step::CheckOwn) {
        if (r.status != KVW_OK && r.status != KVW_ENOTFOUND) {  // cannot tell whether it landed
            op.fail(KVW_ETIMEDOUT, "a resend was refused as a conflict (" + op.message +
                                       ") and reading whether the first send landed failed (" + r.message +
                                       "): the outcome is unknown");
            return true;
        }
        const char *id = r.status == KVW_OK ? header(reply, hdr::kMsgId) : nullptr;
        if (id != nullptr && wire.write_id_text(op.write_id) == id) {
            op.status = KVW_OK;  // stored by an earlier send whose ack was lost
            op.message.clear();
            op.server_error = 0;
            op.version = r.version;
            return true;
        }
        const std::string text = std::move(op.message);
        op.message.clear();
        op.step = op.checked;
        return conflicted(wire, op, text);
    }
    if (r.status != KVW_OK && r.status != KVW_ENOTFOUND) {
        op.fail(r.status, r.message);
        return true;
    }
    const bool found = r.status == KVW_OK;
    const uint64_t seen = found ? r.version : 0;

    // A replica behind what this client has seen (or what the caller asked
    // for): the leader has it. A probe runs after the leader refused create,
    // so on a replicated bucket a key it does not find is there too.
    const KeyFloors *floors = op.bucket->floors();
    const uint64_t key_floor = floors != nullptr ? floors->floor(op.key) : 0;
    if (!op.via_leader && op.step != Op::Step::CheckOwn) {
        if (seen < std::max(op.min_version, key_floor) || (op.step == Op::Step::Probe && !found && floors != nullptr))
            return !read_from_leader(wire, op);
    } else if (op.via_leader && seen < key_floor && op.retries < kLeaderCatchUpRetries &&
               wire.retry_later(&op, false)) {
        // A replica applied the floor's version before the leader did, or a
        // new leader is still applying: it gets there within milliseconds.
        // Past the retries the version is gone (2.9's lost writes): as is.
        return false;
    } else if (op.via_leader && seen < op.min_version) {
        if (wire.retry_later(&op, false)) return false;
        op.fail(KVW_ETIMEDOUT, "the stream has not reached version " + std::to_string(op.min_version) +
                                   " of the key within the op's deadline (its leader has " +
                                   (found ? "version " + std::to_string(seen) : std::string("no record")) +
                                   "): a version of another key or bucket, or a leader that is behind");
        return true;
    }

    if (op.kind == KVW_OP_CREATE) {
        if (!found) {
            if (++op.probes >= kMaxCreateProbes) {
                op.fail(KVW_EEXIST, "key already exists (its record kept changing during create)");
                return true;
            }
            op.go_to(Op::Step::Send);
        } else if (r.op == KVW_ENTRY_PUT) {
            op.version = r.version;
            op.server_error = 0;
            op.fail(KVW_EEXIST, "key already exists");
            return true;
        } else {
            op.go_to(Op::Step::SendOverMarker);  // a CAS over the marker: one racer wins
            op.expected = r.version;
        }
        op.version = 0;
        op.server_error = 0;
        int rc = send_step(wire, op);
        if (rc == KVW_OK) return false;
        op.fail(rc, std::string("create: sending failed: ") + kvw_strerror(rc));
        return true;
    }

    op.version = r.version;
    op.entry_op = found ? r.op : KVW_ENTRY_NONE;
    op.read_ttl_ms = found ? r.ttl_ms : 0;
    if (found) {
        const char *data = natsMsg_GetData(reply);
        int len = natsMsg_GetDataLength(reply);
        if (data != nullptr && len > 0) op.read_value.assign(data, static_cast<size_t>(len));
    }
    const bool live = found && r.op == KVW_ENTRY_PUT && !op.read_value.empty();
    if (op.kind == KVW_OP_GET && !live) {
        op.read_value.clear();
        op.fail(KVW_ENOTFOUND, !found ? "key not found"
                               : r.op == KVW_ENTRY_PUT ? "key not found (it holds an empty value: a tombstone)"
                               : r.op == KVW_ENTRY_DELETE ? "key not found (deleted)"
                                                          : "key not found (purged)");
        return true;
    }
    if (!found) {
        op.fail(KVW_ENOTFOUND, "key not found");
        return true;
    }
    op.status = KVW_OK;
    return true;
}

}  // namespace

}  // namespace kvw
