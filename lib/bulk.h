// Bulk writes (kvw.h, BULK WRITES): a bulk handle's puts, deletes and purges
// go out as fast-ingest batches (ADR-50, nats-server 2.14+) in "gap: fail"
// mode, where an ack for message S means every message up to S is stored and
// a refused or lost message ends the batch at the last stored one. One batch
// per lane is open at a time; it commits when the lane has sent all it holds.
#pragma once

#include <nats/nats.h>
#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace kvw {

class Client;
struct Op;

class BulkLane {
public:
    using clock = std::chrono::steady_clock;
    // Most messages the server may let pass between two of its acks (it
    // picks at most 500), and how many of those spans may be unacked.
    static constexpr unsigned kFlow = 500;
    static constexpr unsigned kSpansAhead = 2;

    // `reply_prefix`: "<client inbox>.F."; `batch_prefix`: unique to this
    // client and lane, so that batch ids never collide on a stream.
    BulkLane(Client &client, std::string reply_prefix, std::string batch_prefix);
    BulkLane(const BulkLane &) = delete;
    BulkLane &operator=(const BulkLane &) = delete;

    // Takes an accepted op (put, delete or purge; counted by the client).
    // Its value is copied first: a write the server skipped is sent again.
    // KVW_ENOMEM: not taken.
    int submit(Op *op);
    // A reply to one of this lane's messages; `batch` and `seq` and `kind`
    // come from its reply subject.
    void on_reply(uint64_t batch, uint64_t seq, int kind, natsMsg *reply);
    // Deadlines, and a ping when the server has been silent on an open batch.
    void tick(clock::time_point now);
    // At close: every op the lane holds, for the client to cancel.
    void take_all(std::vector<Op *> *out);

private:
    // The fast-ingest operations of the reply subject (ADR-50).
    enum Kind { kStart = 0, kAppend = 1, kCommit = 2, kEndOfBatch = 3, kPing = 4 };
    enum class State { Idle, Starting, Open, Committing };
    struct Sent {
        uint64_t seq;
        Op *op;
    };

    // The rest run with mu_ held; finished ops go to `done`, completed by
    // the caller after unlocking.
    void pump(std::vector<Op *> &done);
    int send(const Op &op, uint64_t seq, Kind kind);
    int send_empty(uint64_t seq, Kind kind);  // end of batch, ping
    void stored_through(uint64_t seq, uint64_t version, std::vector<Op *> &done);
    // The server refused message `seq` (`error`: its JSON error): nothing stored.
    void refuse(uint64_t seq, const nlohmann::json &error, std::vector<Op *> &done);
    // The server stored nothing from `seq` on: those ops go back to the front
    // of the queue; the batch is over.
    void requeue_from(uint64_t seq);
    // The batch is over without an answer for its unacked ops: may have landed.
    void unknown_before(uint64_t seq, const std::string &why, std::vector<Op *> &done);
    void end_batch();
    const char *reply_subject(uint64_t seq, Kind kind);

    Client &client_;
    const std::string reply_prefix_;
    const std::string batch_prefix_;

    std::mutex mu_;  // held across sends; nothing else of kvw's is taken under it
    std::deque<Op *> queue_;  // accepted, not sent (requeued ones first)
    std::deque<Sent> sent_;   // sent in the current batch, not yet resolved, by seq
    State state_ = State::Idle;
    bool ending_ = false;  // the server ends the batch (a refusal or a gap): send no more
    bool probing_ = false;  // since a refusal, until a write is stored: one write per batch
    uint64_t batch_ = 0;   // the current batch's number
    uint64_t next_seq_ = 1;
    uint64_t acked_ = 0;
    unsigned ack_every_ = 1;
    std::string last_subject_;  // a subject of the stream, for an end of batch or a ping
    std::string subject_, reply_;  // the message being sent (reused: no allocation per message)
    clock::time_point last_heard_;
    clock::time_point paused_until_;  // no new batch before (no stream leader a moment ago)
};

}  // namespace kvw
