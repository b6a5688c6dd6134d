// The completion queue and the three places callbacks can run: a kvw-owned
// thread, the application's libuv loop, or the caller of kvw_client_poll().
#pragma once

#include <kvw/kvw.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace kvw {

struct Op;

class Delivery {
public:
    // Runs the callbacks of a batch; called on whichever thread delivers.
    using Runner = std::function<void()>;

    explicit Delivery(kvw_delivery mode) : mode_(mode) {}
    ~Delivery();
    Delivery(const Delivery &) = delete;
    Delivery &operator=(const Delivery &) = delete;

    // Sets up the mode's wake-up (eventfd, uv_async_t or thread). For LIBUV it
    // must run on the loop thread; `runner` is called there on each wake-up.
    int start(void *uv_loop, Runner runner);

    kvw_delivery mode() const { return mode_; }

    // Queues a finished op; any thread.
    void push(Op *op);
    // Takes every queued op (FIFO), resetting the poll fd's readiness.
    std::deque<Op *> take_all();
    bool empty();

    // No more pushes will come: lets the thread exit and the uv handle close
    // once the queue is empty.
    void finish();
    bool finished() const { return finished_.load(); }

    // True on the thread currently running callbacks (for deferred close).
    bool in_callback() const { return running_on_.load() == std::this_thread::get_id(); }
    void set_running(bool on) { running_on_.store(on ? std::this_thread::get_id() : std::thread::id()); }

    // POLL: the readiness fd and a wait on it (0: ready, KVW_ETIMEDOUT: not).
    int fd() const { return event_fd_; }
    int wait(int timeout_ms);

    // THREAD: waits until the delivery thread has delivered everything and
    // exited. Safe to call from several threads; a no-op on the thread itself.
    void join();

private:
    void thread_main(Runner runner);
    void wake_locked();
    static void on_uv_async(void *handle);
    static void on_uv_closed(void *handle);
    void maybe_close_uv_locked();

    const kvw_delivery mode_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Op *> queue_;
    std::atomic<bool> finished_{false};
    std::atomic<std::thread::id> running_on_{};
    int event_fd_ = -1;
    std::thread thread_;
    std::mutex join_mu_;
    struct UvState;
    UvState *uv_ = nullptr;  // owned by the loop until its close callback
};

}  // namespace kvw
