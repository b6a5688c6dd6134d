// Validation of keys and bucket names (ADR-8 rules, checked before any I/O),
// and of the enum fields of caller-supplied options.
#pragma once

#include <cstring>
#include <type_traits>

namespace kvw {

// The integer a C caller stored in an enum field. C lets any int through, but
// loading an out-of-range value as the C++ enum type is undefined behaviour
// (UBSan: "not a valid value for type"), so checks read the raw bits.
template <typename E>
int enum_bits(const E &field)
{
    std::underlying_type_t<E> v;
    std::memcpy(&v, &field, sizeof v);
    return static_cast<int>(v);
}

int check_key(const char *key);           // 0, KVW_EINVAL (NULL) or KVW_EBADKEY
int check_bucket_name(const char *name);  // 0, KVW_EINVAL (NULL) or KVW_EBADNAME

// Longest bucket name accepted; keeps subjects well under the server's
// 4096-byte control line together with KVW_KEY_MAX.
constexpr int kBucketNameMax = 255;

}  // namespace kvw
