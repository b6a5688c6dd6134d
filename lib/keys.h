// Validation of keys and bucket names (ADR-8 rules, checked before any I/O).
#pragma once

namespace kvw {

int check_key(const char *key);           // 0, KVW_EINVAL (NULL) or KVW_EBADKEY
int check_bucket_name(const char *name);  // 0, KVW_EINVAL (NULL) or KVW_EBADNAME

// Longest bucket name accepted; keeps subjects well under the server's
// 4096-byte control line together with KVW_KEY_MAX.
constexpr int kBucketNameMax = 255;

}  // namespace kvw
