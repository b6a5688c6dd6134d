// The ops on the wire: submitting, publishing and requesting an op's steps,
// the write and read tables, write ids, per-key order behind a create, and
// handing finished ops to the delivery queue or a blocking call's waiter.
// Part of class Client (client.h); lib/README.md gives the locks and their
// order.
#include "client.h"

#include "bucket.h"
#include "errors.h"
#include "waiter.h"

#include <algorithm>
#include <vector>

namespace kvw {

int Client::submit(std::unique_ptr<Op> op)
{
    if (inflight_.fetch_add(1) >= static_cast<int>(max_inflight_)) {
        inflight_.fetch_sub(1);
        return KVW_EBUSY;
    }
    std::shared_lock<std::shared_mutex> lk(submit_mu_);
    if (closed_ || draining_) {
        inflight_.fetch_sub(1);
        return KVW_ECLOSED;
    }
    undecided_.fetch_add(1);
    Op *raw = op.release();
    BulkLane *lane = raw->bucket->lane();
    const bool bulk = lane != nullptr &&
                      (raw->kind == KVW_OP_PUT || raw->kind == KVW_OP_DELETE || raw->kind == KVW_OP_PURGE);
    int rc = bulk ? lane->submit(raw) : send_in_order(raw);
    if (rc != KVW_OK) {
        delete raw;
        undecided_.fetch_sub(1);
        inflight_.fetch_sub(1);
    }
    return rc;
}

uint64_t Client::next_write_id()
{
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

std::string Client::write_id_text(uint64_t id) const
{
    static const char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char buf[16];
    size_t n = sizeof buf;
    do {
        buf[--n] = kDigits[id % 62];
        id /= 62;
    } while (id != 0);
    return id_prefix_ + std::string(buf + n, sizeof buf - n);
}

int64_t Client::max_wait_ms(const Op &op) const
{
    int64_t wait = op_timeout_ms_;
    if (op.deadline != std::chrono::steady_clock::time_point{}) {  // sent before
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(op.deadline -
                                                                                std::chrono::steady_clock::now());
        wait = std::max<int64_t>(1, left.count());
    }
    return op.with_id ? std::min(wait, resend_after_ms_) : wait;
}

bool Client::retry_later(Op *op, bool resend)
{
    using namespace std::chrono;
    const auto now = steady_clock::now();
    auto due = now;
    auto until = op->deadline;
    if (resend) {
        // Only while the stream still remembers the id (it counts from the
        // store, a little after this first send).
        const auto window = milliseconds(op->bucket->duplicate_window_ms());
        if (op->id_sent_at + window < until) until = op->id_sent_at + window;
    } else {
        // 25, 50, 100 … 400 ms: a leader election takes seconds, a restart
        // less; the last try goes just before the deadline.
        due = std::min(due + milliseconds(25 << std::min(op->retries, 4)), until - milliseconds(20));
    }
    if (due < now || due + milliseconds(5) >= until) return false;
    std::lock_guard<std::mutex> lk(mu_);
    if (dead_ || timer_stop_) return false;  // closing: the caller finishes it
    if (!resend) ++op->retries;
    if (retries_.empty() || due < retries_.begin()->first) timer_cv_.notify_all();
    retries_.emplace(due, op);
    return true;
}

int Client::publish(Op *op, natsMsg *msg, jsPubOptions *po)
{
    // nats.c reports the timeout itself; this later deadline only catches an
    // ack nats.c never reports (e.g. the connection closed for good).
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = now + std::chrono::milliseconds(po->MaxWait + 1000);
    // The op's own deadline starts at its first send (the clock is read here
    // anyway; a create's later steps and retries keep it).
    if (op->deadline == std::chrono::steady_clock::time_point{})
        op->deadline = now + std::chrono::milliseconds(op_timeout_ms_);
    {
        std::lock_guard<std::mutex> lk(mu_);
        // Registered before the publish: the ack can arrive before it returns.
        writes_[msg] = Registration{op, deadline, true, false};
        if (write_timer_idle_) {
            write_timer_idle_ = false;
            timer_cv_.notify_all();
        }
    }
    natsMsg *m = msg;
    published_.store(true);
    natsStatus s = js_PublishMsgAsync(js_, &m, po);
    // On failure nats.c kept nothing (had its handler had the message, it
    // would have said OK). On success it owns the message unless it handed it
    // back while the call ran (msg_ours).
    bool free_msg = s != NATS_OK, taken = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = writes_.find(msg);  // still there: only this call removes a publishing entry
        if (it != writes_.end()) {
            taken = it->second.op == nullptr;
            free_msg = free_msg || it->second.msg_ours;
            if (free_msg || taken)
                writes_.erase(it);  // if nats.c still has the message, its handler finds nothing and frees it
            else
                it->second.publishing = false;
        }
    }
    if (free_msg) natsMsg_Destroy(msg);
    // An op taken while the call ran (ack, timer, denial, close) is being
    // finished by whoever took it: for the caller it was sent.
    if (s == NATS_OK || taken) return KVW_OK;
    return from_nats(s);
}

int Client::request(Op *op, const std::string &body)
{
    if (op->bucket->read_mode() == KVW_READ_LEADER) op->via_leader = true;  // its reply is the leader's JSON
    std::string reply;
    const uint64_t token = reply_subject(&reply);
    op->reply_token = token;
    await_reply(op, token);
    const Bucket &b = *op->bucket;
    natsStatus s = natsConnection_PublishRequest(
        nc_, (op->via_leader ? b.msg_get_subject() : b.direct_get_subject()).c_str(), reply.c_str(), body.data(),
        static_cast<int>(body.size()));
    return sent_or_taken(token, s);
}

uint64_t Client::reply_subject(std::string *subject)
{
    const uint64_t token = next_serial_.fetch_add(1);
    *subject = inbox_ + "." + std::to_string(token);
    return token;
}

int Client::send_batch(Op *op, uint64_t token, std::vector<natsMsg *> &msgs)
{
    await_reply(op, token);
    natsStatus s = NATS_OK;
    for (natsMsg *m : msgs) {
        if (s == NATS_OK) s = natsConnection_PublishMsg(nc_, m);
        natsMsg_Destroy(m);  // nats.c copied it into its buffer
    }
    msgs.clear();
    return sent_or_taken(token, s);
}

void Client::await_more(Op *op) { await_reply(op, op->reply_token); }

void Client::await_reply(Op *op, uint64_t token)
{
    std::lock_guard<std::mutex> lk(mu_);
    reads_[token] = op;
    // FIFO (one timeout for all reads): only a deadline that becomes the
    // front of an empty queue can be earlier than the one the timer
    // sleeps until.
    if (read_deadlines_.empty()) timer_cv_.notify_all();
    if (op->deadline == std::chrono::steady_clock::time_point{})
        op->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(op_timeout_ms_);
    const auto at = op->deadline;
    if (read_deadlines_.empty() || read_deadlines_.back().at <= at) {
        read_deadlines_.push_back({at, token});
    } else {  // a retried read: its deadline is older than the newest ones
        auto pos = std::upper_bound(read_deadlines_.begin(), read_deadlines_.end(), at,
                                    [](auto t, const Deadline &d) { return t < d.at; });
        if (pos == read_deadlines_.begin()) timer_cv_.notify_all();
        read_deadlines_.insert(pos, {at, token});
    }
}

int Client::sent_or_taken(uint64_t token, natsStatus s)
{
    if (s == NATS_OK) return KVW_OK;
    std::lock_guard<std::mutex> lk(mu_);
    // A publish blocked on a stalled connection can outlast the op's
    // deadline: if the timer (or a denial, or close) took the op meanwhile,
    // it is finishing it, so for the caller the op was sent.
    if (reads_.erase(token) == 0) return KVW_OK;
    return from_nats(s);
}

Op *Client::take_write(natsMsg *msg, bool *keep, bool may_resend)
{
    std::lock_guard<std::mutex> lk(mu_);
    *keep = false;
    auto it = writes_.find(msg);
    if (it == writes_.end()) return nullptr;
    if (it->second.publishing) *keep = it->second.msg_ours = true;
    Op *op = it->second.op;
    // Under mu_: publish() cannot free the message meanwhile.
    if (may_resend && op != nullptr && op->value.empty() &&
        (op->kind == KVW_OP_PUT || op->kind == KVW_OP_UPDATE)) {
        const int len = natsMsg_GetDataLength(msg);
        if (len > 0) op->value.assign(natsMsg_GetData(msg), static_cast<size_t>(len));
    }
    return take_entry_locked(it);
}

Op *Client::take_entry_locked(std::unordered_map<natsMsg *, Registration>::iterator &it)
{
    Op *op = it->second.op;
    if (it->second.publishing) {
        it->second.op = nullptr;
        ++it;
    } else {
        it = writes_.erase(it);
    }
    return op;
}

Op *Client::take_read(uint64_t token)
{
    std::lock_guard<std::mutex> lk(mu_);
    auto it = reads_.find(token);
    if (it == reads_.end()) return nullptr;
    Op *op = it->second;
    reads_.erase(it);
    return op;
}

int Client::send_in_order(Op *op)
{
    if (op->kind == KVW_OP_TXN) {
        if (!txn_gate_.admit(op)) return KVW_OK;  // sent when an open commit ends
        const int rc = send_step(*this, *op);
        if (rc != KVW_OK) {
            op->txn_open = false;
            release_txn_slot();
        }
        return rc;
    }
    int rc = KVW_OK;
    if (!order_.admit(op, &rc)) return rc;  // queued behind a create on its key (or out of memory)
    const bool holds = op->holds_key;
    rc = send_step(*this, *op);
    if (rc != KVW_OK && holds) {
        op->holds_key = false;
        release_key(*op);  // sends what queued behind it meanwhile
    }
    return rc;
}

// The create holding its key has finished: send what waited behind it, up to
// the next create, which then holds the key in turn. Sent without any lock
// (this runs on nats.c's ack thread, and a send can block on a full socket).
void Client::release_key(const Op &create)
{
    std::vector<Op *> failed;
    for (bool handed_on = false; !handed_on;) {
        const std::vector<Op *> batch = order_.next_batch(create);
        if (batch.empty()) break;
        for (Op *next : batch) {
            // Read nothing of `next` after a successful send: it may finish
            // at once on a nats.c thread.
            const bool is_create = next->kind == KVW_OP_CREATE;
            next->holds_key = is_create;
            int rc = send_step(*this, *next);
            if (rc == KVW_OK) {
                handed_on = is_create;
            } else {
                next->holds_key = false;
                next->fail(rc, std::string("sending failed: ") + kvw_strerror(rc));
                failed.push_back(next);
            }
        }
    }
    for (Op *op : failed) complete(op);
}

void Client::release_txn_slot()
{
    while (Op *next = txn_gate_.release()) {
        const int rc = send_step(*this, *next);
        if (rc == KVW_OK) return;
        next->txn_open = false;  // its slot goes to the one after it
        next->fail(rc, std::string("transaction: sending its commit failed: ") + kvw_strerror(rc) +
                           "; nothing was stored");
        complete(next);
    }
}

void Client::complete(Op *op)
{
    // Before its callback: a read submitted after it must see this version.
    if (KeyFloors *floors = op->bucket->floors()) {
        if (op->txn_writes != 0) {  // a committed transaction: each of its keys
            for (size_t i = 0; i < op->txn->writes.size(); i++) floors->raise(op->txn->writes[i].key, op->version + i);
        } else if (op->many != nullptr) {  // a multi-key read: each record it returned
            for (const auto &f : op->many->found) floors->raise(f.first, f.second.version);
        } else if (op->version != 0 && !op->key.empty()) {
            floors->raise(op->key, op->version);
        }
    }
    if (op->holds_key) {
        op->holds_key = false;
        release_key(*op);
    }
    if (op->txn_open) {
        op->txn_open = false;
        release_txn_slot();
    }
    // A blocking call's outcome goes to its waiter from this thread, with no
    // delivery hop. The op (and its bucket reference) is gone before the
    // waiting thread wakes, so it never runs on while kvw still uses them.
    kvw_waiter *waiter = op->cb == kvw_waiter_callback ? static_cast<kvw_waiter *>(op->user_data) : nullptr;
    if (waiter != nullptr) {
        waiter_take(waiter, *op);
        delete op;
        inflight_.fetch_sub(1);
    } else {
        delivery_.push(op);
    }
    if (undecided_.fetch_sub(1) == 1 && drain_waiting_.load()) {
        std::lock_guard<std::mutex> lk(drain_mu_);  // a drain between its check and its wait sees it
        drain_cv_.notify_all();
    }
    if (waiter != nullptr) waiter_finish(waiter);
}

void Client::fail_denied(const std::string &subject, const std::string &why)
{
    std::vector<Op *> denied;
    {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto it = writes_.begin(); it != writes_.end();) {
            const char *s = natsMsg_GetSubject(it->first);
            if (it->second.op != nullptr && s != nullptr && subject == s)
                denied.push_back(take_entry_locked(it));  // the message stays with nats.c until it times out
            else
                ++it;
        }
        for (auto it = reads_.begin(); it != reads_.end();) {
            const Op &op = *it->second;
            const Bucket &b = *op.bucket;
            // A transaction waits for its commit's reply: a denied write of its batch ends it.
            const bool denied_txn = op.kind == KVW_OP_TXN && subject.compare(0, b.subject("").size(), b.subject("")) == 0;
            if (denied_txn || (op.via_leader ? b.msg_get_subject() : b.direct_get_subject()) == subject) {
                denied.push_back(it->second);
                it = reads_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (Op *op : denied) {
        op->fail(KVW_EPERM, why);
        complete(op);
    }
}

}  // namespace kvw
