#include "version.h"

#include <cstdio>
#include <cstring>

namespace kvw {

kvw_version make_version(uint64_t rev)
{
    kvw_version v = KVW_VERSION_UNKNOWN_INIT;
    if (rev == 0) return v;
    v.len = 8;
    for (int i = 7; i >= 0; --i, rev >>= 8) v.bytes[i] = static_cast<uint8_t>(rev & 0xff);
    return v;
}

uint64_t revision_of(const kvw_version &v)
{
    if (v.len != 8) return 0;
    uint64_t rev = 0;
    for (int i = 0; i < 8; ++i) rev = (rev << 8) | v.bytes[i];
    return rev;
}

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

}  // namespace kvw

extern "C" {

KVW_API kvw_version kvw_version_from_u64(uint64_t rev) { return kvw::make_version(rev); }

KVW_API int kvw_version_to_u64(const kvw_version *v, uint64_t *out)
{
    if (out != nullptr) *out = 0;
    if (v == nullptr || out == nullptr) return KVW_EINVAL;
    uint64_t rev = kvw::revision_of(*v);
    if (rev == 0) return KVW_EBADVERSION;
    *out = rev;
    return KVW_OK;
}

KVW_API int kvw_version_is_unknown(const kvw_version *v) { return v == nullptr || v->len == 0; }

KVW_API int kvw_version_equal(const kvw_version *a, const kvw_version *b)
{
    if (a == nullptr || b == nullptr || a->len != b->len || a->len > KVW_VERSION_TOKEN_MAX) return 0;
    return std::memcmp(a->bytes, b->bytes, a->len) == 0;
}

KVW_API int kvw_version_format(const kvw_version *v, char *buf, size_t size)
{
    if (v == nullptr || buf == nullptr || size == 0 || v->len > KVW_VERSION_TOKEN_MAX) return KVW_EINVAL;
    char tmp[KVW_VERSION_STRLEN];
    int n;
    if (v->len == 0) {
        n = std::snprintf(tmp, sizeof tmp, "unknown");
    } else if (v->len == 8 && kvw::revision_of(*v) != 0) {
        n = std::snprintf(tmp, sizeof tmp, "%llu", static_cast<unsigned long long>(kvw::revision_of(*v)));
    } else {
        n = std::snprintf(tmp, sizeof tmp, "x:");
        for (int i = 0; i < v->len; ++i) n += std::snprintf(tmp + n, sizeof tmp - n, "%02x", v->bytes[i]);
    }
    if (static_cast<size_t>(n) >= size) {
        buf[0] = '\0';
        return KVW_EINVAL;
    }
    std::memcpy(buf, tmp, static_cast<size_t>(n) + 1);
    return n;
}

KVW_API int kvw_version_parse(kvw_version *out, const char *text)
{
    if (out == nullptr) return KVW_EINVAL;
    *out = kvw_version{};
    if (text == nullptr) return KVW_EINVAL;
    if (std::strcmp(text, "unknown") == 0) return KVW_OK;
    if (text[0] == 'x' && text[1] == ':') {
        const char *hex = text + 2;
        size_t n = std::strlen(hex);
        if (n == 0 || n % 2 != 0 || n / 2 > KVW_VERSION_TOKEN_MAX) return KVW_EBADVERSION;
        kvw_version v = KVW_VERSION_UNKNOWN_INIT;
        for (size_t i = 0; i < n; i += 2) {
            int hi = kvw::hex_value(hex[i]), lo = kvw::hex_value(hex[i + 1]);
            if (hi < 0 || lo < 0) return KVW_EBADVERSION;
            v.bytes[i / 2] = static_cast<uint8_t>(hi * 16 + lo);
        }
        v.len = static_cast<uint8_t>(n / 2);
        // One spelling per token: an 8-byte revision prints as decimal.
        if (kvw::revision_of(v) != 0) return KVW_EBADVERSION;
        *out = v;
        return KVW_OK;
    }
    // Decimal revision: 1-20 digits, no sign, no leading zero, fits in u64.
    size_t n = std::strlen(text);
    if (n == 0 || n > 20 || text[0] == '0') return KVW_EBADVERSION;
    uint64_t rev = 0;
    for (size_t i = 0; i < n; ++i) {
        if (text[i] < '0' || text[i] > '9') return KVW_EBADVERSION;
        uint64_t d = static_cast<uint64_t>(text[i] - '0');
        if (rev > (UINT64_MAX - d) / 10) return KVW_EBADVERSION;
        rev = rev * 10 + d;
    }
    *out = kvw::make_version(rev);
    return KVW_OK;
}

}  // extern "C"
