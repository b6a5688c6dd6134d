// Multi-key reads (kvw.h, MULTI-KEY READS): one direct get with
// `multi_last` (ADR-31, nats-server 2.11+) whose replies — one message per
// key that has a record, then an end-of-batch status — come back on the
// op's reply subject, in pages of 256 records of the same snapshot.
#pragma once

#include <kvw/kvw.h>
#include <nats/nats.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace kvw {

class Wire;
struct Op;

struct ManyRecord {
    uint64_t version = 0;
    kvw_entry_op op = KVW_ENTRY_PUT;
    int64_t ttl_ms = 0;
    std::string value;
};

struct Many {
    std::vector<std::string> keys;                     // as asked, duplicates included
    std::unordered_map<std::string, ManyRecord> found;  // by key
    uint64_t up_to = 0;     // the snapshot's point (Nats-UpTo-Sequence of the first page)
    uint64_t next_seq = 0;  // paging: where the next page starts, 0 for the first
    // The results handed to the callback, built at delivery (they point
    // into `keys` and `found`).
    std::vector<kvw_result> results;
};

// The request for the op's next page.
int send_many_step(Wire &wire, Op &op);
// One reply message. true: the op is finished; false: it waits for more
// (the op is registered again for its reply subject: touch nothing after).
bool on_many_reply(Wire &wire, Op &op, natsMsg *reply);
// Fills many.results for a finished op (entries in the order of the keys).
void build_many_results(Many &many);

}  // namespace kvw
