// Reads through the stream leader ($JS.API.STREAM.MSG.GET): its JSON reply
// turned into the message a direct get would have sent, so that one parser
// (parse_record) reads both.
#pragma once

#include <nats/nats.h>

#include <string>

namespace kvw {

// The request body for the key's latest record on `subject`.
std::string last_by_subject_request(const std::string &subject);

// *out: a new message with the record's headers, a Nats-Sequence header and
// its data; or, for an error reply, Status/Description headers as a direct
// get sends them ("404" for no message). *out stays null when `reply` is no
// JSON reply at all (no responders, a status message): read it as it is.
// NATS_NO_MEMORY when building failed.
natsStatus msg_get_as_direct(natsMsg *reply, natsMsg **out);

// Standard base64 (Go's encoding of []byte in JSON). false on bad input.
bool base64_decode(const std::string &in, std::string *out);

}  // namespace kvw
