#include "floors.h"

#include <functional>

namespace kvw {

KeyFloors::KeyFloors() : slots_(new Slot[kSlots]()) {}

uint64_t KeyFloors::hash_of(const std::string &key)
{
    const uint64_t h = std::hash<std::string>{}(key);
    return h <= kShared ? h + 2 : h;  // 0 and 1 are the slot states
}

void KeyFloors::raise(const std::string &key, uint64_t version)
{
    const uint64_t h = hash_of(key);
    std::lock_guard<std::mutex> lk(mu_);
    Slot &s = slots_[h % kSlots];
    if (s.hash == kEmpty) s.hash = h;
    else if (s.hash != h) s.hash = kShared;
    if (version > s.version) s.version = version;
}

KeyFloors::Floor KeyFloors::floor(const std::string &key) const
{
    const uint64_t h = hash_of(key);
    std::lock_guard<std::mutex> lk(mu_);
    const Slot &s = slots_[h % kSlots];
    if (s.hash == h) return {s.version, true};
    if (s.hash == kShared) return {s.version, false};
    return {};  // another key's slot, or empty: nothing seen of this key
}

}  // namespace kvw
