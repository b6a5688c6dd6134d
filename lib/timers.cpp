// The client's two threads: the timer (op deadlines, resend and retry times,
// parked ops) and the sender, which sends what the timer found due so that a
// send blocked on a full socket never holds the timer. Part of class Client.
#include "client.h"

#include <vector>

namespace kvw {

void Client::timer_main()
{
    using clock = std::chrono::steady_clock;
    std::unique_lock<std::mutex> lk(mu_);
    auto next_sweep = clock::time_point::max();
    auto next_park_check = clock::time_point::min();
    while (!timer_stop_) {
        auto now = clock::now();
        std::vector<Op *> expired;
        if (next_sweep == clock::time_point::max()) {
            if (!write_timer_idle_) next_sweep = now + write_sweep_;  // woken by a publish
        } else if (now >= next_sweep) {
            for (auto it = writes_.begin(); it != writes_.end();) {
                // The message stays with nats.c; a late ack finds no op and frees it.
                if (it->second.op != nullptr && it->second.deadline <= now)
                    expired.push_back(take_entry_locked(it));
                else
                    ++it;
            }
            if (writes_.empty()) {
                write_timer_idle_ = true;  // the next publish wakes us
                next_sweep = clock::time_point::max();
            } else {
                next_sweep = now + write_sweep_;
            }
        }
        std::vector<Op *> resend;
        while (!retries_.empty() && retries_.begin()->first <= now) {
            resend.push_back(retries_.begin()->second);
            retries_.erase(retries_.begin());
        }
        // Parked ops try again every 50 ms, and at once after a reconnect.
        if (!parked_.empty() && (reconnected_ || now >= next_park_check)) {
            resend.insert(resend.end(), parked_.begin(), parked_.end());
            parked_.clear();
            reconnected_ = false;
            next_park_check = now + std::chrono::milliseconds(50);
        }
        while (!read_deadlines_.empty() && read_deadlines_.front().at <= now) {
            Deadline d = read_deadlines_.front();
            read_deadlines_.pop_front();
            auto it = reads_.find(d.token);
            if (it != reads_.end()) {
                expired.push_back(it->second);
                reads_.erase(it);
            }
        }
        if (!resend.empty()) {  // sent by the sender thread: a send can block, the timer must not
            to_send_.insert(to_send_.end(), resend.begin(), resend.end());
            send_cv_.notify_one();
        }
        if (!expired.empty()) {
            lk.unlock();
            for (Op *op : expired) {
                op->fail(KVW_ETIMEDOUT, "no reply from the server within " + std::to_string(op_timeout_ms_) +
                                            " ms: the outcome is unknown");
                complete(op);
            }
            lk.lock();
            continue;
        }
        auto next = next_sweep;
        if (!parked_.empty() && next_park_check < next) next = next_park_check;
        if (!read_deadlines_.empty() && read_deadlines_.front().at < next) next = read_deadlines_.front().at;
        if (!retries_.empty() && retries_.begin()->first < next) next = retries_.begin()->first;
        if (next == clock::time_point::max())
            timer_cv_.wait(lk);
        else
            timer_cv_.wait_until(lk, next);
    }
}

void Client::stop_threads()
{
    {
        std::lock_guard<std::mutex> lk(mu_);
        timer_stop_ = true;
    }
    timer_cv_.notify_all();
    send_cv_.notify_all();
    {
        std::lock_guard<std::mutex> lk(lanes_mu_);
        lanes_stop_ = true;
    }
    lanes_cv_.notify_all();
    if (lanes_thread_.joinable()) lanes_thread_.join();
    if (timer_.joinable()) timer_.join();
    if (sender_.joinable()) sender_.join();  // a send in progress ends by the write deadline
}

// Every 50 ms: each bulk lane's deadlines and pings (bulk.h).
void Client::lanes_main()
{
    std::unique_lock<std::mutex> lk(lanes_mu_);
    while (!lanes_stop_) {
        std::vector<std::shared_ptr<BulkLane>> live;
        for (auto it = lanes_.begin(); it != lanes_.end();) {
            if (auto lane = it->second.lock()) {
                live.push_back(std::move(lane));
                ++it;
            } else {
                it = lanes_.erase(it);  // its bucket handle and ops are gone
            }
        }
        lk.unlock();
        const auto now = std::chrono::steady_clock::now();
        for (auto &lane : live) lane->tick(now);
        live.clear();  // a lane may end here: nothing of it runs on this thread after
        lk.lock();
        lanes_cv_.wait_for(lk, std::chrono::milliseconds(50), [this] { return lanes_stop_; });
    }
}

void Client::sender_main()
{
    std::unique_lock<std::mutex> lk(mu_);
    while (!timer_stop_) {
        if (to_send_.empty()) {
            send_cv_.wait(lk);
            continue;
        }
        std::vector<Op *> due;
        due.swap(to_send_);
        lk.unlock();
        resend_due(due);
        lk.lock();
    }
}

// On the sender thread, without mu_: sends each op's current step again, or
// parks it while the connection is down (finishing it if its deadline passed).
void Client::resend_due(const std::vector<Op *> &due)
{
    if (due.empty()) return;
    if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED) {
        const auto now = std::chrono::steady_clock::now();
        std::vector<Op *> late;
        {
            std::lock_guard<std::mutex> lk(mu_);  // close joins this thread before it sweeps parked_
            const bool was_empty = parked_.empty();
            for (Op *op : due) (op->deadline <= now + std::chrono::milliseconds(5) ? late : parked_).push_back(op);
            // The timer may be asleep with nothing else to wait for (no write
            // on the wire, no retry due): it must come back for these.
            if (was_empty && !parked_.empty()) timer_cv_.notify_all();
        }
        for (Op *op : late) {
            if (op->maybe_stored)
                op->fail(KVW_ETIMEDOUT, "no acknowledgement within " + std::to_string(op_timeout_ms_) +
                                            " ms, the connection lost meanwhile: the outcome is unknown");
            else
                op->fail(KVW_ENOTCONN, "not connected to a JetStream responder until the op's deadline; "
                                       "nothing was stored");
            complete(op);
        }
        return;
    }
    for (Op *op : due) {
        int rc = send_step(*this, *op);
        if (rc != KVW_OK) {
            op->fail(op->maybe_stored ? KVW_ETIMEDOUT : rc,
                     std::string("sending again failed: ") + kvw_strerror(rc) +
                         (op->maybe_stored ? " (an earlier send may have landed: the outcome is unknown)" : ""));
            complete(op);
        }
    }
}

}  // namespace kvw
