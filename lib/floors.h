// Read-your-writes within a client (kvw.h, READS): per key, the newest
// version any completed op of this client has seen. Direct gets may be
// answered by a replica that is behind; a reply older than the key's floor
// is read again through the stream leader.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace kvw {

// Bounded (kSets sets of kWays keys, 16 bytes each: 512 KiB) and never too
// low. A key lives in the set its hash picks; a full set drops its oldest
// entry (the lowest version) and keeps that version as the floor of every
// key it no longer holds, which can only send such a key's read to the
// leader needlessly, never let a stale one through.
class KeyFloors {
public:
    static constexpr size_t kSets = 8192, kWays = 4;
    explicit KeyFloors(size_t sets = kSets);  // fewer sets: the fuzz target's evictions
    void raise(const std::string &key, uint64_t version);
    uint64_t floor(const std::string &key) const;

private:
    struct Set {
        uint64_t hash[kWays];     // 0: empty
        uint64_t version[kWays];
        uint64_t dropped;         // the highest version dropped from this set
    };
    static uint64_t hash_of(const std::string &key);
    const size_t nsets_;
    mutable std::mutex mu_;
    std::unique_ptr<Set[]> sets_;
};

}  // namespace kvw
