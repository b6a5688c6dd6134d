// Version tokens (NATS: the KV revision as 8 big-endian bytes).
#pragma once

#include <kvw/kvw.h>

#include <cstdint>

namespace kvw {

kvw_version make_version(uint64_t rev);
// The revision in a token, or 0 when it holds none (unknown or non-NATS).
uint64_t revision_of(const kvw_version &v);

}  // namespace kvw
