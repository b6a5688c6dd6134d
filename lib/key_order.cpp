#include "key_order.h"

#include "bucket.h"

namespace kvw {

std::string KeyOrder::key_of(const Op &op) { return op.bucket->name() + '.' + op.key; }

bool KeyOrder::admit(Op *op, int *rc)
{
    *rc = KVW_OK;
    if (op->kind != KVW_OP_CREATE && held_keys_.load() == 0) return true;
    std::lock_guard<std::mutex> lk(mu_);
    std::string key = key_of(*op);
    auto it = held_.find(key);
    if (it != held_.end()) {
        // Sent after the submit call returns: the op needs its own copy of the value.
        *rc = op->keep_value();
        if (*rc != KVW_OK) return false;
        it->second.push_back(op);  // behind a create in flight on this key
        return false;
    }
    if (op->kind == KVW_OP_CREATE) {
        held_.emplace(std::move(key), std::list<Op *>{});
        held_keys_.fetch_add(1);
        op->holds_key = true;
    }
    return true;
}

std::vector<Op *> KeyOrder::next_batch(const Op &create)
{
    std::vector<Op *> batch;
    std::lock_guard<std::mutex> lk(mu_);
    auto it = held_.find(key_of(create));
    if (it == held_.end()) return batch;  // swept by close
    std::list<Op *> &waiting = it->second;
    if (waiting.empty()) {
        held_.erase(it);
        held_keys_.fetch_sub(1);
        return batch;
    }
    do {
        batch.push_back(waiting.front());
        waiting.pop_front();
    } while (!waiting.empty() && batch.back()->kind != KVW_OP_CREATE);
    return batch;
}

std::vector<Op *> KeyOrder::take_all()
{
    std::vector<Op *> all;
    std::lock_guard<std::mutex> lk(mu_);
    for (auto &h : held_)
        for (Op *op : h.second) all.push_back(op);
    held_.clear();
    held_keys_.store(0);
    return all;
}

}  // namespace kvw
