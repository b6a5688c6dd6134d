// libFuzzer target: kvw_key_check and kvw_bucket_name_check against a
// reference written from the rules (DESIGN.md §1, kvw.h), not from
// lib/keys.cpp: a key is 1..KVW_KEY_MAX bytes of [-/_=.a-zA-Z0-9] whose
// '.'-separated tokens are all non-empty (so no leading/trailing '.', no
// ".."); a bucket name is 1..255 bytes of [A-Za-z0-9_-] (255 is
// kvw::kBucketNameMax, the library's limit).
#include <kvw/kvw.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

bool ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool ref_key(const std::string &k)
{
    if (k.empty() || k.size() > KVW_KEY_MAX) return false;
    for (unsigned char c : k)
        if (!ascii_alnum(c) && std::string("-/_=.").find(static_cast<char>(c)) == std::string::npos)
            return false;
    size_t start = 0;
    for (;;) {
        size_t dot = k.find('.', start);
        size_t end = dot == std::string::npos ? k.size() : dot;
        if (end == start) return false;  // empty token
        if (dot == std::string::npos) return true;
        start = dot + 1;
    }
}

bool ref_bucket(const std::string &n)
{
    if (n.empty() || n.size() > 255) return false;
    for (unsigned char c : n)
        if (!ascii_alnum(c) && c != '-' && c != '_') return false;
    return true;
}

[[noreturn]] void mismatch(const char *what, const std::string &s, int got)
{
    std::fprintf(stderr, "%s disagrees with the reference on %zu bytes \"%s\": got %d\n", what, s.size(),
                 s.c_str(), got);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The C API takes NUL-terminated strings: test the text up to the first NUL.
    std::string s(reinterpret_cast<const char *>(data), size);
    s.resize(std::char_traits<char>::length(s.c_str()));

    int k = kvw_key_check(s.c_str());
    if (k != (ref_key(s) ? KVW_OK : KVW_EBADKEY)) mismatch("kvw_key_check", s, k);
    int b = kvw_bucket_name_check(s.c_str());
    if (b != (ref_bucket(s) ? KVW_OK : KVW_EBADNAME)) mismatch("kvw_bucket_name_check", s, b);

    // Long inputs are rare under -max_len; also try the input repeated past the limits.
    if (!s.empty() && s.size() < 64) {
        std::string longer;
        while (longer.size() <= KVW_KEY_MAX + 1) longer += s;
        longer.resize(KVW_KEY_MAX + (data[0] & 1));
        k = kvw_key_check(longer.c_str());
        if (k != (ref_key(longer) ? KVW_OK : KVW_EBADKEY)) mismatch("kvw_key_check", longer, k);
        longer.resize(255 + (data[0] & 1));
        b = kvw_bucket_name_check(longer.c_str());
        if (b != (ref_bucket(longer) ? KVW_OK : KVW_EBADNAME)) mismatch("kvw_bucket_name_check", longer, b);
    }
    return 0;
}

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    if (kvw_key_check(nullptr) != KVW_EINVAL || kvw_bucket_name_check(nullptr) != KVW_EINVAL) std::abort();
    return 0;
}
