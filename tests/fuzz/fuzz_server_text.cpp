// libFuzzer target: the server texts kvw reads (lib/headers.h).
// denied_publish_subject: the subject it returns is part of the text, after
// "publish to " (any case), with no quotes or spaces around it; "" when the
// phrase is absent. last_sequence_in: "wrong last sequence: N" gives N back
// wherever it sits in the text, and never crashes on anything else.
#include "headers.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
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
    const uint64_t n = in.ConsumeIntegral<uint64_t>();
    const std::string before = in.ConsumeRandomLengthString(64);
    const std::string text = in.ConsumeRemainingBytesAsString();

    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string subject = kvw::denied_publish_subject(text);
    if (lower.find("publish to ") == std::string::npos) CHECK(subject.empty());
    if (!subject.empty()) {
        CHECK(text.find(subject) != std::string::npos);
        CHECK(std::string("\"' ").find(subject.front()) == std::string::npos);
        CHECK(std::string("\"' ").find(subject.back()) == std::string::npos);
    }
    CHECK(kvw::denied_publish_subject("Permissions Violation for Publish to \"" + std::string("$KV.b.k") + "\"") ==
          "$KV.b.k");

    (void)kvw::last_sequence_in(text.c_str());
    if (before.find("wrong last sequence: ") == std::string::npos && before.find('\0') == std::string::npos) {
        const std::string msg = before + "wrong last sequence: " + std::to_string(n);
        CHECK(kvw::last_sequence_in(msg.c_str()) == n);
    }
    return 0;
}
