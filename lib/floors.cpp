#include "floors.h"

#include <functional>

namespace kvw {

KeyFloors::KeyFloors(size_t sets) : nsets_(sets > 0 ? sets : 1), sets_(new Set[nsets_]()) {}

uint64_t KeyFloors::hash_of(const std::string &key)
{
    const uint64_t h = std::hash<std::string>{}(key);
    return h == 0 ? 1 : h;  // 0 marks an empty way
}

void KeyFloors::raise(const std::string &key, uint64_t version)
{
    const uint64_t h = hash_of(key);
    std::lock_guard<std::mutex> lk(mu_);
    Set &s = sets_[h % nsets_];
    size_t victim = 0;
    for (size_t i = 0; i < kWays; ++i) {
        if (s.hash[i] == h) {
            if (version > s.version[i]) s.version[i] = version;
            return;
        }
        if (s.hash[i] == 0 || (s.hash[victim] != 0 && s.version[i] < s.version[victim])) victim = i;
    }
    if (version <= s.dropped) return;  // the set's floor already covers it
    if (s.hash[victim] != 0 && s.version[victim] > s.dropped) s.dropped = s.version[victim];
    s.hash[victim] = h;
    s.version[victim] = version;
}

uint64_t KeyFloors::floor(const std::string &key) const
{
    const uint64_t h = hash_of(key);
    std::lock_guard<std::mutex> lk(mu_);
    const Set &s = sets_[h % nsets_];
    for (size_t i = 0; i < kWays; ++i)
        if (s.hash[i] == h) return s.version[i];  // raised past every earlier drop of it
    return s.dropped;
}

}  // namespace kvw
