// libFuzzer target: kvw::KeyFloors (lib/floors.h), the per-key versions
// behind read-your-writes. A tiny table (2 sets of 4) so that inputs evict.
// Checked against an exact map: a key's floor is never below the highest
// version raised for it (a stale read would then pass) and never goes down.
#include "floors.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                          \
        }                                                                          \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    kvw::KeyFloors floors(2);
    std::map<std::string, uint64_t> raised, last_floor;
    while (in.remaining_bytes() > 0) {
        const std::string key = "k" + std::to_string(in.ConsumeIntegralInRange<int>(0, 40));
        if (in.ConsumeBool()) {
            const uint64_t v = in.ConsumeIntegral<uint64_t>();
            floors.raise(key, v);
            if (v > raised[key]) raised[key] = v;
        }
        for (const auto &kv : raised) {
            const uint64_t f = floors.floor(kv.first);
            CHECK(f >= kv.second);
            CHECK(f >= last_floor[kv.first]);
            last_floor[kv.first] = f;
        }
    }
    return 0;
}
