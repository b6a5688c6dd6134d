// KV wire knowledge in one place: the headers kvw writes and reads, their
// sizes (the server counts them against its payload limits), and the TTL
// text forms. Pure functions, unit- and fuzz-testable.
#pragma once

#include <kvw/kvw.h>
#include <nats/nats.h>

#include <cstdint>
#include <string>

namespace kvw {

namespace hdr {
constexpr char kOperation[] = "KV-Operation";     // "DEL" | "PURGE"
constexpr char kRollup[] = "Nats-Rollup";         // "sub" with PURGE
constexpr char kTtl[] = "Nats-TTL";               // per-message TTL (2.11+)
constexpr char kMarkerReason[] = "Nats-Marker-Reason";  // server-written markers (ADR-48)
constexpr char kMsgId[] = "Nats-Msg-Id";          // write id: the stream de-duplicates resends
constexpr char kExpectedLastSubjectSeq[] = "Nats-Expected-Last-Subject-Sequence";  // CAS
constexpr char kSubject[] = "Nats-Subject";       // a direct get reply's record subject
// Atomic batches (ADR-50, 2.12+): a transaction's messages.
constexpr char kBatchId[] = "Nats-Batch-Id";      // <= 64 characters
constexpr char kBatchSequence[] = "Nats-Batch-Sequence";  // 1, 2, ... without gaps
constexpr char kBatchCommit[] = "Nats-Batch-Commit";      // "1" on the last message
}  // namespace hdr

// Write ids: the 12 random characters of a NUID, then a u64 in base 62.
constexpr size_t kWriteIdPrefixLen = 12;
constexpr int64_t kMaxWriteIdLen = kWriteIdPrefixLen + 11;

// The value of header `name` of `msg`, or null when it has none.
const char *header(natsMsg *msg, const char *name);

// Bytes kvw adds as headers to a write of `kind` (with a Nats-TTL when
// `with_ttl`, a Nats-Msg-Id when `with_id`): the server counts them against
// the message size.
int64_t header_bytes(kvw_op kind, bool with_ttl, bool with_id);
// Bytes a transaction's batch headers add to each of its messages (the
// write's own header_bytes come on top).
int64_t batch_header_bytes();

// KVW_OK when `ttl_ms` is a TTL kvw can send (whole seconds in
// [1 s, KVW_TTL_MAX_MS], or KVW_TTL_NEVER), else KVW_EBADTTL.
int check_ttl(int64_t ttl_ms);
// The Nats-TTL value for a checked TTL: "<seconds>s" (a Go duration that
// every server and client parses) or "never".
std::string format_ttl(int64_t ttl_ms);
// A Nats-TTL value as stored by any client: integer seconds, a Go duration
// ("1m0s", "1.5h", "500ms"), or "never". *ms: milliseconds (KVW_TTL_NEVER
// for never). false for anything else (then *ms = 0).
bool parse_ttl(const char *text, int64_t *ms);

// What a server-written marker's reason means to KV (ADR-48): MaxAge and
// Purge read as PURGE, Remove as DELETE; KVW_ENTRY_NONE for other text.
kvw_entry_op marker_entry_op(const char *reason);

// "wrong last sequence: 42" -> 42 (the key's current version); 0 when the
// text carries no number (clustered streams answer 10164 without one).
uint64_t last_sequence_in(const char *text);

// The subject of a server's permission error ('Permissions Violation for
// Publish to "$KV.b.k"', any case, quotes optional), or "" when the text
// names no publish.
std::string denied_publish_subject(const std::string &text);

}  // namespace kvw
