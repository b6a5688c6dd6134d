// One small state machine per op. Every op is submitted once, may take a few
// network steps (creates and transactions take more than one), and finishes
// exactly once.
#pragma once

#include "get_many.h"
#include "txn.h"

#include <kvw/kvw.h>
#include <nats/nats.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kvw {

class Bucket;
struct Op;

// What an op's steps ask of whoever carries them out: the client (client.h)
// implements it. ops.cpp sees only this, never the client, so the state
// machine depends on the wire and not on the client's tables and threads.
class Wire {
public:
    // Put a step on the wire. On 0 the op belongs to the carrier until it
    // hands it back with an event below; on failure nothing was sent.
    virtual int publish(Op *op, natsMsg *msg, jsPubOptions *po) = 0;
    // A direct get on the op's bucket with this JSON body.
    virtual int request(Op *op, const std::string &body) = 0;
    // A transaction's messages: a reply subject for the last of them, then
    // send_batch publishes them in order (taking them) with the op waiting
    // for that reply, which comes back to on_reply as a read's does.
    virtual uint64_t reply_subject(std::string *subject) = 0;
    virtual int send_batch(Op *op, uint64_t token, std::vector<natsMsg *> &msgs) = 0;
    // The op (just handed back with a reply) waits for more replies on the
    // same reply subject: a multi-key read's records come one by one.
    virtual void await_more(Op *op) = 0;
    // Send the op's current step again later: after a backoff ("no
    // responders": nothing was received), or at once with the same write id
    // (`resend`: its ack did not come) while the stream still remembers that
    // id. false: its deadline would pass first (or the carrier is closing),
    // and the op finishes now.
    virtual bool retry_later(Op *op, bool resend) = 0;
    // A write id, unique in the process, and its text ("<process prefix><id
    // in base 62>", unique across processes and restarts).
    virtual uint64_t next_write_id() = 0;
    virtual std::string write_id_text(uint64_t id) const = 0;
    // How long nats.c may wait for this send's ack.
    virtual int64_t max_wait_ms(const Op &op) const = 0;
    virtual int64_t op_timeout_ms() const = 0;

protected:
    ~Wire() = default;
};

struct Op {
    kvw_op kind = KVW_OP_PUT;
    std::shared_ptr<Bucket> bucket;  // keeps bucket and client alive until delivered
    std::string key;
    std::string value;               // payload (create keeps it for its retry)
    // put / update: the caller's value, read in place by the first send_step
    // while the submit call runs, so it is copied once (into the natsMsg);
    // keep_value() copies it into `value` when the op has to wait.
    const char *borrowed = nullptr;
    size_t borrowed_len = 0;
    uint64_t expected = 0;           // update / delete_with_version / create-over-marker
    int64_t ttl_ms = 0;              // a checked Nats-TTL to send (0: none)
    // Reads: the version the caller needs at least (kvw_get_at_least), and
    // whether the read goes to the stream leader (a direct get came back
    // older than the key's floor, or the bucket reads only there).
    uint64_t min_version = 0;
    bool via_leader = false;
    kvw_write_cb cb = nullptr;
    void *user_data = nullptr;

    // The op's deadline (its first send + op_timeout_ms): "no responders"
    // answers (no stream leader yet, JetStream restarting) are retried until then.
    std::chrono::steady_clock::time_point deadline;
    int retries = 0;

    // Idempotent resends (kvw_client_options.resend_after_ms): the write id
    // (Nats-Msg-Id) of the message on the wire, 0 before its first send; a
    // new step gets a new id. `sends` counts the sends of this id, and
    // `id_sent_at` is its first (the stream remembers it from then on).
    bool with_id = false;
    uint64_t write_id = 0;
    int sends = 0;
    std::chrono::steady_clock::time_point id_sent_at;
    bool maybe_stored = false;  // a send of it got no answer: it may have landed

    // Which step is on the wire. create: Send, then Probe and SendOverMarker
    // over a delete marker. CheckOwn: a resent CAS was refused, and the
    // record after the expected version is read to see whether it is this
    // op's own earlier send (its ack lost); `checked` is the step it checks.
    // Resolve: a CAS was refused without the key's version (10164, a write
    // to the key in flight on a replicated stream); the leader's record
    // decides between a real conflict and sending the CAS (`checked`) again.
    // A transaction's commit: TxnStart (the batch's first message), TxnCommit
    // (the others, the last committing), TxnWho (a refused commit: the
    // record at the version the server named, to say which key it was).
    enum class Step { Send, Probe, SendOverMarker, CheckOwn, Resolve, TxnStart, TxnCommit, TxnWho };
    Step step = Step::Send, checked = Step::Send;
    int probes = 0;
    bool holds_key = false;  // a create that later ops on its key wait behind
    std::shared_ptr<Txn> txn;  // KVW_OP_TXN: its writes (shared with the kvw_txn until accepted)
    bool txn_open = false;     // a commit holding one of the client's TxnGate slots
    std::unique_ptr<Many> many;  // KVW_OP_GET_MANY: its keys and what came back
    uint64_t reply_token = 0;  // the reply subject's token of its last request

    // The outcome, filled once.
    int status = KVW_OK;
    std::string message;
    uint64_t version = 0;
    int server_error = 0;
    kvw_entry_op entry_op = KVW_ENTRY_NONE;
    int64_t read_ttl_ms = 0;
    std::string read_value;
    size_t txn_writes = 0;  // KVW_OP_TXN committed: its writes (versions version..version+n-1)

    void fail(int code, std::string msg);
    // Moves on to step `s`; a write step gets a new write id.
    void go_to(Step s);
    // The version CAS step `s` expects (0: no record, create's first send).
    uint64_t expected_at(Step s) const { return kind == KVW_OP_CREATE && s == Step::Send ? 0 : expected; }
    // Copies a borrowed value into `value` (the op will be sent after its
    // submit call returned). KVW_ENOMEM if that fails.
    int keep_value();
    // Runs the user's callback with a borrowed kvw_result.
    void deliver() const;
};

// A direct-get reply: the key's latest record, or why there is none.
struct Record {
    int status = KVW_OK;  // KVW_OK, KVW_ENOTFOUND or an error
    std::string message;
    uint64_t version = 0;
    kvw_entry_op op = KVW_ENTRY_NONE;
    int64_t ttl_ms = 0;  // its Nats-TTL (0: none)
};
// Reads a reply's status, Nats-Sequence, KV-Operation (or a server marker's
// Nats-Marker-Reason) and Nats-TTL headers. Exposed
// (internally) for the fuzz target; never fails on malformed input.
Record parse_record(natsMsg *reply);

// The KV headers of a delete, purge or TTL write (none for a plain put).
natsStatus set_write_headers(natsMsg *msg, const Op &op);

// Puts the op's current step on the wire. 0, or a KVW_E* code (nothing sent).
int send_step(Wire &wire, Op &op);

// Network events for an op the client has just taken out of its tables.
// They return true when the op is finished (ready to deliver); false when it
// went on to its next step.
bool on_ack(Wire &wire, Op &op, const jsPubAck *pa, const jsPubAckErr *pae);
bool on_reply(Wire &wire, Op &op, natsMsg *reply);

}  // namespace kvw
