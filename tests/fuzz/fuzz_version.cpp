// libFuzzer target: version tokens. Two views of each input:
//  - as text: kvw_version_parse either refuses it (KVW_EBADVERSION, *out =
//    unknown) or accepts it, and then formatting gives back exactly the text
//    (one spelling per token) which parses to an equal token;
//  - as a raw kvw_version (length byte + bytes, as another process might hand
//    one back): formatting either refuses it (len > KVW_VERSION_TOKEN_MAX) or
//    gives text that parses back to an equal token.
// Formatting into every too-small buffer must fail cleanly with "" written.
#include <kvw/kvw.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                               \
        }                                                                               \
    } while (0)

bool all_zero(const kvw_version &v)
{
    static const kvw_version zero = KVW_VERSION_UNKNOWN_INIT;
    return std::memcmp(&v, &zero, sizeof v) == 0;
}

// Formats v; checks the result against every smaller buffer. Returns the text
// or, when v cannot be formatted, sets *ok = false.
std::string format_checked(const kvw_version &v, bool *ok)
{
    char buf[KVW_VERSION_STRLEN];
    std::memset(buf, 'Z', sizeof buf);
    int n = kvw_version_format(&v, buf, sizeof buf);
    if (n < 0) {
        CHECK(n == KVW_EINVAL);
        *ok = false;
        return std::string();
    }
    *ok = true;
    CHECK(n > 0 && static_cast<size_t>(n) < sizeof buf && std::strlen(buf) == static_cast<size_t>(n));
    for (size_t size = 1; size <= static_cast<size_t>(n) + 1; ++size) {
        // Exactly `size` bytes on the heap: ASan catches any write past them.
        std::unique_ptr<char[]> small(new char[size]);
        std::memset(small.get(), 'Z', size);
        int m = kvw_version_format(&v, small.get(), size);
        if (size <= static_cast<size_t>(n)) {
            CHECK(m == KVW_EINVAL);
            CHECK(small[0] == '\0');
        } else {
            CHECK(m == n);
            CHECK(std::memcmp(small.get(), buf, size) == 0);
        }
    }
    CHECK(kvw_version_format(&v, buf, 0) == KVW_EINVAL);
    return std::string(buf, static_cast<size_t>(n));
}

void check_text(const std::string &text)
{
    kvw_version v;
    std::memset(&v, 0xA5, sizeof v);  // parse must reset it whatever happens
    int rc = kvw_version_parse(&v, text.c_str());
    if (rc != KVW_OK) {
        CHECK(rc == KVW_EBADVERSION);
        CHECK(all_zero(v));
        return;
    }
    CHECK(v.len <= KVW_VERSION_TOKEN_MAX);
    for (size_t i = v.len; i < sizeof v.bytes; ++i) CHECK(v.bytes[i] == 0);  // unused bytes are zero
    bool ok = false;
    std::string again = format_checked(v, &ok);
    CHECK(ok);
    CHECK(again == text);  // canonical: one spelling per token
    kvw_version w;
    CHECK(kvw_version_parse(&w, again.c_str()) == KVW_OK);
    CHECK(kvw_version_equal(&v, &w) == 1 && std::memcmp(&v, &w, sizeof v) == 0);

    uint64_t rev = 0;
    if (kvw_version_to_u64(&v, &rev) == KVW_OK) {
        CHECK(rev != 0);
        char dec[32];
        std::snprintf(dec, sizeof dec, "%" PRIu64, rev);
        CHECK(text == dec);
        kvw_version u = kvw_version_from_u64(rev);
        CHECK(std::memcmp(&u, &v, sizeof v) == 0);
    } else {
        CHECK(rev == 0);
    }
    CHECK(kvw_version_is_unknown(&v) == (v.len == 0));
    CHECK((v.len == 0) == (text == "unknown"));
}

void check_token(const uint8_t *data, size_t size)
{
    kvw_version v;
    std::memset(&v, 0, sizeof v);
    v.len = static_cast<uint8_t>(data[0] % (KVW_VERSION_TOKEN_MAX + 2));  // 16: an invalid length too
    std::memcpy(v.bytes, data + 1, std::min(size - 1, sizeof v.bytes));
    bool ok = false;
    std::string text = format_checked(v, &ok);
    if (!ok) {
        CHECK(v.len > KVW_VERSION_TOKEN_MAX);
        CHECK(kvw_version_equal(&v, &v) == 0);  // an invalid token equals nothing
        return;
    }
    CHECK(v.len <= KVW_VERSION_TOKEN_MAX);
    kvw_version w;
    CHECK(kvw_version_parse(&w, text.c_str()) == KVW_OK);
    CHECK(kvw_version_equal(&v, &w) == 1);
    CHECK(w.len == v.len && std::memcmp(w.bytes, v.bytes, v.len) == 0);
    check_text(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string text(reinterpret_cast<const char *>(data), size);
    text.resize(std::char_traits<char>::length(text.c_str()));
    check_text(text);
    if (size > 0) check_token(data, size);
    return 0;
}

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    kvw_version v;
    CHECK(kvw_version_parse(nullptr, "1") == KVW_EINVAL);
    CHECK(kvw_version_parse(&v, nullptr) == KVW_EINVAL && all_zero(v));
    CHECK(kvw_version_format(nullptr, nullptr, 0) == KVW_EINVAL);
    return 0;
}
