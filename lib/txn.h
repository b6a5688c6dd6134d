// Transactions (kvw.h, TRANSACTIONS): the writes a kvw_txn collects, and the
// steps of its commit as one op: an atomic batch (ADR-50) whose first
// message is a request, the others follow it, and the last one commits.
#pragma once

#include <kvw/kvw.h>
#include <nats/nats.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace kvw {

class Wire;
struct Op;

struct TxnWrite {
    kvw_op kind = KVW_OP_PUT;  // put, create, update, delete, delete_with_version
    std::string key;
    std::string value;
    // update / delete_with_version: the caller's; create: 0 (no record), or
    // the DEL/PURGE marker a commit found it on and writes over.
    uint64_t expected = 0;
    bool checked() const
    {
        return kind == KVW_OP_CREATE || kind == KVW_OP_UPDATE || kind == KVW_OP_DELETE_WITH_VERSION;
    }
};

struct Txn {
    std::vector<TxnWrite> writes;
    std::string batch_id;       // of the batch on the wire (a new one per try)
    int tries_over_marker = 0;  // commits sent again because a create met a marker
    uint64_t conflict_seq = 0;  // "wrong last sequence: N" of a refused commit
};

// At most kMaxOpen of a client's commits are open on the server at once (it
// refuses more than 50 batches in flight per stream with 10210); the others
// wait here in order and start as earlier ones end. A leaf lock.
class TxnGate {
public:
    static constexpr int kMaxOpen = 32;
    // true: send `op` now (it holds a slot: op->txn_open); false: it waits.
    bool admit(Op *op);
    // A commit holding a slot ended: the next one to send (now holding the
    // slot), or null.
    Op *release();
    // At close: the commits still waiting (never sent).
    std::vector<Op *> take_all();

private:
    std::mutex mu_;
    int open_ = 0;
    std::deque<Op *> waiting_;
};

// The commit's current step on the wire (Op::Step::TxnStart, TxnCommit or
// TxnWho). 0, or a KVW_E* code (nothing sent).
int send_txn_step(Wire &wire, Op &op);
// The reply to the batch's first message or its commit, as it came. true:
// the op is finished.
bool on_txn_reply(Wire &wire, Op &op, natsMsg *reply);
// A refused commit: the record at the version the server named (TxnWho), in
// direct-get form. true: the op is finished.
bool on_txn_record(Wire &wire, Op &op, natsMsg *record);

}  // namespace kvw
