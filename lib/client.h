// The client: one NATS connection and JetStream context, the table of ops on
// the wire, their deadlines, and the completion queue. Defined in client.cpp
// (life), wire.cpp (ops on the wire) and timers.cpp (the two threads).
#pragma once

#include "bulk.h"
#include "delivery.h"
#include "floors.h"
#include "key_order.h"
#include "ops.h"

#include <kvw/kvw.h>
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace kvw {

// Bytes of a kvw_client_options of `version`; 0 for a version this library
// does not know.
size_t client_options_size(unsigned int version);

class Client final : public Wire, public std::enable_shared_from_this<Client> {
public:
    static int open(std::shared_ptr<Client> *out, const kvw_client_options *opts);
    ~Client();
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    // Takes the op and puts its first step on the wire. 0 means the op now
    // belongs to the client and will be delivered exactly once.
    int submit(std::unique_ptr<Op> op);

    // Wire (ops.h): the steps of ops. On 0 the op belongs to the tables.
    int publish(Op *op, natsMsg *msg, jsPubOptions *po) override;
    int request(Op *op, const std::string &body) override;
    uint64_t reply_subject(std::string *subject) override;
    int send_batch(Op *op, uint64_t token, std::vector<natsMsg *> &msgs) override;
    void await_more(Op *op) override;
    // Hands a finished op to the delivery queue.
    void complete(Op *op);
    // The key floors (kvw.h, READS) shared by this client's handles of a
    // bucket: read-your-writes holds across them.
    std::shared_ptr<KeyFloors> floors_for(const std::string &stream);

    // A bulk handle's lane (bulk.h), found again by its number in the
    // subjects its replies come on. The first one opens the lanes' connection.
    int open_lane(std::shared_ptr<BulkLane> *out);
    // Where lanes publish (set before the first lane exists, then fixed).
    natsConnection *bulk_connection() const { return bulk_nc_; }

    // Public close semantics (deferred inside a callback; see kvw.h).
    int close();
    // kvw_client_drain: refuse new ops, wait for outcomes, close.
    int drain(int64_t timeout_ms);
    // POLL mode: wait and deliver on the calling thread.
    int poll(int timeout_ms);
    int fd() const { return delivery_.mode() == KVW_DELIVERY_POLL ? delivery_.fd() : KVW_EINVAL; }
    int inflight() const { return inflight_.load(); }
    bool closed();
    // Lock-free: close has begun (ops that fail to send now were cancelled).
    bool closing() const { return closing_.load(); }

    jsCtx *js() const { return js_; }
    natsConnection *connection() const { return nc_; }
    // The connected server's version as major*10000+minor*100+patch, or
    // KVW_ENOTCONN / KVW_ENOTSUP (kvw.h, kvw_client_server_version).
    int server_version() const;
    int64_t op_timeout_ms() const override { return op_timeout_ms_; }
    // Writes carry ids and are sent again when their ack is late.
    bool resends() const { return resend_after_ms_ > 0; }
    // Write ids: one counter for all clients of the process.
    uint64_t next_write_id() override;
    std::string write_id_text(uint64_t id) const override;
    // op_timeout_ms, at most resend_after_ms for a write with an id, or less
    // when sent again.
    int64_t max_wait_ms(const Op &op) const override;
    // Puts the op (just taken from the tables) on the retry timer.
    bool retry_later(Op *op, bool resend) override;

private:
    Client(const kvw_client_options &opts);
    int connect(const kvw_client_options &opts);
    int run_batch();
    void close_now();
    void timer_main();
    // nats.c has handed `msg` back (ack handler, pending list at close):
    // returns its op, if any. *keep: the publish call for it is still running
    // and reading it, so publish() frees it, not the caller.
    // may_resend: the op may be sent again, so a value it did not keep
    // (put, update) is copied out of the message first.
    Op *take_write(natsMsg *msg, bool *keep, bool may_resend = false);
    Op *take_read(uint64_t token);
    // Registers `op` for the reply with `token` (its deadline as a read's);
    // after the publish, sent_or_taken says what the caller should return.
    void await_reply(Op *op, uint64_t token);
    int sent_or_taken(uint64_t token, natsStatus s);

    static void on_ack_cb(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);
    static void on_reply_cb(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);
    static void on_bulk_reply_cb(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);
    static void on_async_error_cb(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure);
    static void on_reconnected_cb(natsConnection *nc, void *closure);
    // The server drops a publish it does not permit and says so only on the
    // connection: fail the ops waiting on that subject instead of timing out.
    void fail_denied(const std::string &subject, const std::string &why);

    const uint64_t registry_id_;
    const int64_t op_timeout_ms_;
    const uint32_t max_inflight_;
    const int64_t resend_after_ms_;  // <= 0: no write ids, no resends
    std::string id_prefix_;          // the random part of a NUID, set at connect

    natsOptions *nopts_ = nullptr;
    natsConnection *nc_ = nullptr;
    jsCtx *js_ = nullptr;
    natsSubscription *inbox_sub_ = nullptr;
    std::string inbox_;

    // Ops on the wire. An op is in exactly one table entry at a time; whoever
    // removes it (ack, reply, timer, close) finishes or re-sends it.
    struct Registration {
        Op *op;  // nullptr: taken while its publish call was still running
        // The safety net behind nats.c's MaxWait. It lives in the entry, not
        // in a queue of its own, so that it goes away with the op: memory
        // follows the in-flight window, not the rate times the timeout.
        std::chrono::steady_clock::time_point deadline;
        // js_PublishMsgAsync for this message has not returned yet. It can
        // outlast MaxWait (blocked on a stalled connection), so the ack
        // handler may get the message while nats.c still reads it: the entry
        // then stays until publish() returns, and msg_ours says that the
        // message came back to kvw meanwhile and publish() must free it.
        bool publishing;
        bool msg_ours;
    };
    struct Deadline {
        std::chrono::steady_clock::time_point at;
        uint64_t token;
    };
    std::mutex mu_;
    std::unordered_map<natsMsg *, Registration> writes_;
    // With mu_ held: takes the op from entry `it` and moves `it` on. An entry
    // whose publish call is still running stays (publish() removes it).
    Op *take_entry_locked(std::unordered_map<natsMsg *, Registration>::iterator &it);
    std::unordered_map<uint64_t, Op *> reads_;
    // Reads have no other timeout: exact deadlines, in order (a retried read
    // keeps its op's deadline and is inserted where it belongs).
    std::deque<Deadline> read_deadlines_;
    // Ops waiting to be sent again ("no responders", a late ack), by due
    // time; the timer hands them to the sender thread.
    std::multimap<std::chrono::steady_clock::time_point, Op *> retries_;
    // Due ops that found the connection down: sent once it is back (nats.c
    // would only buffer them), finished when their deadline passes first.
    std::vector<Op *> parked_;
    bool reconnected_ = false;  // under mu_: parked ops go at once
    // Due ops, handed by the timer to the sender thread: a send can block
    // (a full socket, up to the write deadline) and the timer must not.
    std::vector<Op *> to_send_;
    std::condition_variable send_cv_;
    std::thread sender_;
    void sender_main();
    void resend_due(const std::vector<Op *> &due);
    // Stops and joins the timer and the sender.
    void stop_threads();
    // The timer sweeps writes_ every write_sweep_ while writes are on the wire;
    // it sleeps without a write deadline when the table was empty, and the
    // next publish wakes it.
    const std::chrono::milliseconds write_sweep_;
    bool write_timer_idle_ = true;
    std::condition_variable timer_cv_;
    bool timer_stop_ = false;
    bool dead_ = false;  // swept at close: late nats.c events only free their message
    std::thread timer_;

    std::atomic<uint64_t> next_serial_{1};
    // nats.c 3.4.1 crashes in js_PublishAsyncGetPendingList before the first async publish.
    std::atomic<bool> published_{false};
    std::atomic<int> inflight_{0};

    std::shared_mutex submit_mu_;  // submitters share it; close takes it alone
    bool closed_ = false;
    std::atomic<bool> closing_{false};
    bool draining_ = false;  // under submit_mu_: submits refused, close follows
    // Accepted ops not yet handed to delivery (drain waits for 0).
    std::atomic<int> undecided_{0};
    std::atomic<bool> drain_waiting_{false};
    std::mutex drain_mu_;
    std::condition_variable drain_cv_;
    std::mutex close_mu_;
    std::atomic<bool> close_requested_{false};

    // Ops behind a create on their key wait in order_ (key_order.h).
    int send_in_order(Op *op);
    void release_key(const Op &create);
    // A commit holding a TxnGate slot ended: start the next waiting one.
    void release_txn_slot();
    KeyOrder order_;
    TxnGate txn_gate_;

    // Bulk lanes: replies come on "<inbox>.F.>"; a thread started with the
    // first lane gives each its deadlines and pings (BulkLane::tick).
    natsSubscription *bulk_sub_ = nullptr;
    std::mutex bulk_nc_mu_;  // leaf lock: the lanes' connection's creation and close
    natsConnection *bulk_nc_ = nullptr;
    std::mutex lanes_mu_;  // leaf lock
    std::condition_variable lanes_cv_;
    std::unordered_map<uint64_t, std::weak_ptr<BulkLane>> lanes_;
    uint64_t next_lane_ = 1;
    bool lanes_stop_ = false;
    std::thread lanes_thread_;
    void lanes_main();

    std::mutex floors_mu_;  // leaf lock
    std::unordered_map<std::string, std::weak_ptr<KeyFloors>> floors_;

    std::mutex run_mu_;  // callbacks run one at a time
    Delivery delivery_;
};

}  // namespace kvw
