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

// Bounded (kSlots slots, 128 KiB) and never too low: a key's floor lives in
// the slot its hash picks; when two keys share a slot, the slot keeps the
// larger version for both ("shared"), which can only send a read to the
// leader needlessly, never let a stale one through.
class KeyFloors {
public:
    static constexpr size_t kSlots = 8192;
    struct Floor {
        uint64_t version = 0;  // 0: nothing seen
        bool exact = false;    // this key's own version, not a shared slot's
    };
    KeyFloors();
    void raise(const std::string &key, uint64_t version);
    Floor floor(const std::string &key) const;

private:
    struct Slot {
        uint64_t hash;     // kEmpty, kShared or the key's hash
        uint64_t version;
    };
    static constexpr uint64_t kEmpty = 0, kShared = 1;
    static uint64_t hash_of(const std::string &key);
    mutable std::mutex mu_;
    std::unique_ptr<Slot[]> slots_;
};

}  // namespace kvw
