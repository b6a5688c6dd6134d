#include "delivery.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdint>

namespace kvw {

// What the loop owns in LIBUV mode: the handle and the runner (which keeps
// the client alive until the handle's close callback has run).
struct Delivery::UvState {
    uv_async_t async;
    Delivery *delivery;
    Runner runner;
    bool closing = false;
};

Delivery::~Delivery()
{
    if (thread_.joinable()) {
        if (thread_.get_id() == std::this_thread::get_id())
            thread_.detach();  // the last reference dropped on the delivery thread itself
        else
            thread_.join();
    }
    if (event_fd_ >= 0) ::close(event_fd_);
}

int Delivery::start(void *uv_loop, Runner runner)
{
    switch (mode_) {
    case KVW_DELIVERY_POLL:
        event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        return event_fd_ >= 0 ? KVW_OK : KVW_EINTERNAL;
    case KVW_DELIVERY_THREAD:
        try {
            thread_ = std::thread([this, r = std::move(runner)]() mutable { thread_main(std::move(r)); });
        } catch (...) {
            return KVW_ENOMEM;
        }
        return KVW_OK;
    case KVW_DELIVERY_LIBUV: {
        UvState *s = new (std::nothrow) UvState;
        if (s == nullptr) return KVW_ENOMEM;
        s->delivery = this;
        s->runner = std::move(runner);
        if (uv_async_init(static_cast<uv_loop_t *>(uv_loop), &s->async,
                          [](uv_async_t *h) { on_uv_async(h); }) != 0) {
            delete s;
            return KVW_EINVAL;
        }
        s->async.data = s;
        uv_ = s;
        return KVW_OK;
    }
    }
    return KVW_EINVAL;
}

void Delivery::wake_locked()
{
    switch (mode_) {
    case KVW_DELIVERY_THREAD: cv_.notify_one(); break;
    case KVW_DELIVERY_POLL: {
        uint64_t one = 1;
        ssize_t n = ::write(event_fd_, &one, sizeof one);
        (void)n;  // only fails when the counter is saturated: still readable
        break;
    }
    case KVW_DELIVERY_LIBUV:
        if (uv_ != nullptr && !uv_->closing) uv_async_send(&uv_->async);
        break;
    }
}

void Delivery::push(Op *op)
{
    bool was_empty;
    {
        std::lock_guard<std::mutex> lk(mu_);
        was_empty = queue_.empty();
        queue_.push_back(op);
        // The fd stays readable and the loop stays woken until the queue is taken.
        if (was_empty && mode_ != KVW_DELIVERY_THREAD) wake_locked();
    }
    // The delivery thread sleeps only on an empty queue, so only the first
    // push needs to wake it; and it is woken after the unlock, or it would
    // wake up only to block on mu_ while this thread still holds it.
    if (was_empty && mode_ == KVW_DELIVERY_THREAD) cv_.notify_one();
}

std::deque<Op *> Delivery::take_all()
{
    std::lock_guard<std::mutex> lk(mu_);
    std::deque<Op *> out;
    out.swap(queue_);
    if (mode_ == KVW_DELIVERY_POLL) {
        uint64_t v;
        ssize_t n = ::read(event_fd_, &v, sizeof v);  // reset readiness; pushes after this re-arm it
        (void)n;
    }
    return out;
}

bool Delivery::empty()
{
    std::lock_guard<std::mutex> lk(mu_);
    return queue_.empty();
}

void Delivery::finish()
{
    std::lock_guard<std::mutex> lk(mu_);
    finished_.store(true);
    // Wake the consumer so that it can deliver what is left and wind down.
    switch (mode_) {
    case KVW_DELIVERY_THREAD: cv_.notify_one(); break;
    case KVW_DELIVERY_LIBUV:
        if (uv_ != nullptr && !uv_->closing) uv_async_send(&uv_->async);
        break;
    case KVW_DELIVERY_POLL: break;
    }
}

int Delivery::wait(int timeout_ms)
{
    struct pollfd p = {event_fd_, POLLIN, 0};
    int rc;
    do {
        rc = ::poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0 ? KVW_OK : KVW_ETIMEDOUT;
}

void Delivery::join()
{
    std::lock_guard<std::mutex> lk(join_mu_);
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Delivery::thread_main(Runner runner)
{
    for (;;) {
        {
            std::unique_lock<std::mutex> lk(mu_);
            if (queue_.empty() && !finished_.load()) {
                // Acks arrive in bursts on a nats.c thread. Going to sleep the
                // moment the queue is empty made this thread sleep and be
                // woken for nearly every ack, and the waking nats.c thread was
                // preempted each time. One yield first lets the burst go on.
                lk.unlock();
                std::this_thread::yield();
                lk.lock();
            }
            cv_.wait(lk, [this] { return !queue_.empty() || finished_.load(); });
            if (queue_.empty() && finished_.load()) break;
        }
        runner();
    }
    // `runner` is destroyed on return; it may hold the last reference to the
    // client, so nothing below may touch `this`.
}

void Delivery::on_uv_async(void *handle)
{
    UvState *s = static_cast<UvState *>(static_cast<uv_async_t *>(handle)->data);
    s->runner();
    Delivery *d = s->delivery;
    std::lock_guard<std::mutex> lk(d->mu_);
    d->maybe_close_uv_locked();
}

void Delivery::maybe_close_uv_locked()
{
    if (uv_ == nullptr || uv_->closing || !finished_.load() || !queue_.empty()) return;
    uv_->closing = true;
    uv_close(reinterpret_cast<uv_handle_t *>(&uv_->async), [](uv_handle_t *h) { on_uv_closed(h); });
}

void Delivery::on_uv_closed(void *handle)
{
    UvState *s = static_cast<UvState *>(static_cast<uv_handle_t *>(handle)->data);
    {
        std::lock_guard<std::mutex> lk(s->delivery->mu_);
        s->delivery->uv_ = nullptr;
    }
    delete s;  // drops the runner: may release the client (and this Delivery)
}

}  // namespace kvw
