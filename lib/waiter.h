// kvw_waiter (kvw.h, BLOCKING CALLS): one op's outcome handed to a thread
// that waits for it, from the thread that finishes the op.
#pragma once

#include <kvw/kvw.h>

#include "get_many.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace kvw {
struct Op;
}

struct kvw_waiter {
    enum class State { Idle, Pending, Done };

    std::mutex mu;  // a leaf: nothing is taken or sent while it is held
    std::condition_variable cv;
    State state = State::Idle;
    bool abandoned = false;  // freed while Pending: the op's end frees it
    kvw_result result{};     // Done: points into the strings below
    std::string key, message, value;
    std::unique_ptr<kvw::Many> many;  // a multi-key read's records (result.entries points into it)
};

namespace kvw {

// The submit's side: Idle/Done -> Pending (false: an op is pending), and
// back to Idle when the submit was refused (no outcome will come).
bool waiter_arm(kvw_waiter *w);
void waiter_disarm(kvw_waiter *w);

// The finishing side, in two steps so that the op (and with it the last
// reference to its bucket) is gone before the waiting thread runs on:
// waiter_take moves the op's outcome into the waiter, waiter_finish wakes
// the waiter (or frees an abandoned one).
void waiter_take(kvw_waiter *w, Op &op);
void waiter_finish(kvw_waiter *w);

}  // namespace kvw
