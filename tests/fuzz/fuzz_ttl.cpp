// libFuzzer target: the TTL text of lib/headers.h. parse_ttl reads what any
// client stored in Nats-TTL (integer seconds, a Go duration, "never") and
// must never crash or return a negative TTL other than "never"; every TTL
// kvw accepts (check_ttl) survives format_ttl -> parse_ttl unchanged.
#include "headers.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            std::fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                  \
        }                                                                  \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    const int64_t ttl = in.ConsumeIntegral<int64_t>();
    if (kvw::check_ttl(ttl) == KVW_OK) {
        int64_t back = 0;
        const std::string text = kvw::format_ttl(ttl);
        CHECK(kvw::parse_ttl(text.c_str(), &back));
        CHECK(back == ttl);
    } else {
        CHECK(kvw::check_ttl(ttl) == KVW_EBADTTL);
        CHECK(ttl != KVW_TTL_NEVER && (ttl < 1000 || ttl % 1000 != 0 || ttl > KVW_TTL_MAX_MS));
    }
    const std::string text = in.ConsumeRemainingBytesAsString();
    int64_t ms = 12345;
    const bool ok = kvw::parse_ttl(text.c_str(), &ms);
    CHECK(ok ? ms >= -1 : ms == 0);
    CHECK(ms != -1 || text.rfind("never", 0) == 0);
    return 0;
}
