#include "keys.h"

#include <kvw/kvw.h>

#include <cstring>

namespace kvw {

namespace {

bool key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '/' || c == '_' || c == '=' || c == '.';
}

bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

}  // namespace

int check_key(const char *key)
{
    if (key == nullptr) return KVW_EINVAL;
    size_t n = 0;
    for (; key[n] != '\0'; ++n) {
        if (n >= KVW_KEY_MAX || !key_char(static_cast<unsigned char>(key[n]))) return KVW_EBADKEY;
        if (key[n] == '.' && (n == 0 || key[n - 1] == '.')) return KVW_EBADKEY;
    }
    if (n == 0 || key[n - 1] == '.') return KVW_EBADKEY;
    return KVW_OK;
}

int check_bucket_name(const char *name)
{
    if (name == nullptr) return KVW_EINVAL;
    size_t n = 0;
    for (; name[n] != '\0'; ++n)
        if (n >= static_cast<size_t>(kBucketNameMax) || !name_char(static_cast<unsigned char>(name[n])))
            return KVW_EBADNAME;
    return n == 0 ? KVW_EBADNAME : KVW_OK;
}

}  // namespace kvw

extern "C" {

KVW_API int kvw_key_check(const char *key) { return kvw::check_key(key); }
KVW_API int kvw_bucket_name_check(const char *name) { return kvw::check_bucket_name(name); }

}  // extern "C"
