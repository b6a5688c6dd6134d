#include "waiter.h"

#include "ops.h"
#include "version.h"

#include <chrono>
#include <new>

namespace kvw {

bool waiter_arm(kvw_waiter *w)
{
    std::lock_guard<std::mutex> lk(w->mu);
    if (w->state == kvw_waiter::State::Pending) return false;
    w->state = kvw_waiter::State::Pending;
    return true;
}

void waiter_disarm(kvw_waiter *w)
{
    std::lock_guard<std::mutex> lk(w->mu);
    w->state = kvw_waiter::State::Idle;
}

void waiter_take(kvw_waiter *w, Op &op)
{
    std::lock_guard<std::mutex> lk(w->mu);
    if (w->abandoned) return;
    kvw_result &r = w->result;
    r = kvw_result{};
    r.status = op.status;
    r.op = op.kind;
    r.version = make_version(op.version);
    r.server_error = op.server_error;
    r.entry_op = op.entry_op;
    r.ttl_ms = op.read_ttl_ms;
    r.txn_writes = op.txn_writes;
    w->many.reset();
    if (op.many != nullptr && op.status == KVW_OK) {  // the records stay with the waiter
        w->many = std::move(op.many);
        try {
            build_many_results(*w->many);
            r.entries = w->many->results.data();
            r.entry_count = w->many->results.size();
        } catch (...) {  // on a nats.c thread: nothing may escape
            w->many.reset();
            r.status = op.status = KVW_ENOMEM;
            op.message.clear();
        }
    }
    w->key = std::move(op.key);
    w->value = std::move(op.read_value);
    try {  // on a nats.c thread: nothing may escape
        if (op.message.empty())
            w->message.assign(kvw_strerror(op.status));
        else
            w->message = std::move(op.message);
    } catch (...) {
        w->message.clear();
    }
    r.key = w->key.c_str();  // the result points into the waiter's own copies
    r.message = w->message.c_str();
    r.value = w->value.data();
    r.value_len = w->value.size();
}

void waiter_finish(kvw_waiter *w)
{
    std::unique_lock<std::mutex> lk(w->mu);
    if (w->abandoned) {
        lk.unlock();
        delete w;
        return;
    }
    w->state = kvw_waiter::State::Done;
    w->cv.notify_all();  // under the lock: the waiter cannot be freed before this returns
}

}  // namespace kvw

extern "C" {

KVW_API int kvw_waiter_new(kvw_waiter **out)
{
    if (out == nullptr) return KVW_EINVAL;
    *out = new (std::nothrow) kvw_waiter;
    return *out != nullptr ? KVW_OK : KVW_ENOMEM;
}

KVW_API void kvw_waiter_free(kvw_waiter *w)
{
    if (w == nullptr) return;
    {
        std::lock_guard<std::mutex> lk(w->mu);
        if (w->state == kvw_waiter::State::Pending) {
            w->abandoned = true;  // waiter_finish frees it
            return;
        }
    }
    delete w;
}

// A marker, never run: Client::complete recognises it and hands the op's
// outcome to the waiter itself (waiter_take, waiter_finish), and every op
// ends through Client::complete.
KVW_API void kvw_waiter_callback(const kvw_result *, void *) {}

KVW_API int kvw_waiter_wait(kvw_waiter *w, int timeout_ms, const kvw_result **result)
{
    if (result != nullptr) *result = nullptr;
    if (w == nullptr || result == nullptr) return KVW_EINVAL;
    std::unique_lock<std::mutex> lk(w->mu);
    if (w->state == kvw_waiter::State::Idle) return KVW_EINVAL;
    auto done = [w] { return w->state == kvw_waiter::State::Done; };
    if (timeout_ms < 0)
        w->cv.wait(lk, done);
    else if (!w->cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), done))
        return 0;
    *result = &w->result;
    return 1;
}

}  // extern "C"
