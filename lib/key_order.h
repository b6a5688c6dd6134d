// Per-key submission order around create, whose fallback (probe, then a CAS
// over the marker) takes several round trips: while a create is in flight on
// a key, later ops on that key wait here, in order, and go out once it has
// finished. This only keeps the queues; the client does the sending.
//
// Its mutex is a leaf: nothing is sent and no other lock is taken while it is
// held (a send can block on a full socket, and releases run on nats.c's ack
// thread).
#pragma once

#include "ops.h"

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace kvw {

class KeyOrder {
public:
    // Whether `op` goes out now (false: it was queued behind a create and
    // keeps its own copy of its value). A create that goes out now holds its
    // key (op->holds_key) until release(). KVW_ENOMEM through *rc when the
    // copy failed (then nothing was queued).
    bool admit(Op *op, int *rc);
    // The ops that waited behind `create` up to and including the next
    // create (which then holds the key), to be sent in this order; empty when
    // nothing waited, and the key is free again. Call again after sending a
    // batch that did not end with a create that went out: ops may have
    // queued meanwhile.
    std::vector<Op *> next_batch(const Op &create);
    // Close: every op still waiting (never sent); the keys are free.
    std::vector<Op *> take_all();

private:
    static std::string key_of(const Op &op);  // bucket name '.' key
    std::mutex mu_;
    std::unordered_map<std::string, std::list<Op *>> held_;  // list: no allocation while empty
    std::atomic<int> held_keys_{0};  // lets admit() skip the lock while no key is held
};

}  // namespace kvw
