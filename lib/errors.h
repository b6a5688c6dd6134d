// Error codes: names, messages, and the mapping from nats.c statuses.
#pragma once

#include <nats/nats.h>

#include <string>

namespace kvw {

// Maps a nats.c status (and JetStream error code, when the server sent one)
// to a KVW_E* code.
int from_nats(natsStatus s, jsErrCode js_err = static_cast<jsErrCode>(0));

}  // namespace kvw
