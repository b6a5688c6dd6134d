#include "get_many.h"

#include "bucket.h"
#include "headers.h"
#include "ops.h"
#include "version.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace kvw {

namespace {

// Records per reply page: replies of 1,024 keys of up to a megabyte each
// come in four pages, each asked for when the one before has arrived.
constexpr int kPage = 256;

uint64_t number_in(const char *text)
{
    if (text == nullptr || *text < '0' || *text > '9') return 0;
    return std::strtoull(text, nullptr, 10);
}

// Drops what came back, to ask again from the first page.
void start_over(Many &m)
{
    m.found.clear();
    m.up_to = m.next_seq = 0;
}

// The snapshot is older than a version this client has seen for one of its
// keys (a replica behind, on a replicated bucket): ask again until the
// deadline. true: the op is finished (it could not be asked again).
bool behind(Wire &wire, Op &op, uint64_t floor)
{
    Many &m = *op.many;
    const uint64_t seen = m.up_to;
    start_over(m);
    if (wire.retry_later(&op, false)) return false;
    op.fail(KVW_ETIMEDOUT, "the replicas that answered stayed behind version " + std::to_string(floor) +
                               ", which this client has seen for one of the keys (snapshot as of " +
                               std::to_string(seen) + "), until the op's deadline");
    return true;
}

}  // namespace

int send_many_step(Wire &wire, Op &op)
{
    const Many &m = *op.many;
    const Bucket &b = *op.bucket;
    std::string body = "{\"multi_last\":[";
    for (size_t i = 0; i < m.keys.size(); i++) {
        if (i > 0) body += ',';
        body += '"';
        body += b.subject(m.keys[i]);  // keys and bucket names need no JSON escaping
        body += '"';
    }
    body += "],\"batch\":" + std::to_string(kPage);
    if (m.next_seq != 0)  // a later page of the same snapshot
        body += ",\"seq\":" + std::to_string(m.next_seq) + ",\"up_to_seq\":" + std::to_string(m.up_to);
    body += '}';
    return wire.request(&op, body);
}

bool on_many_reply(Wire &wire, Op &op, natsMsg *reply)
{
    Many &m = *op.many;
    if (natsMsg_IsNoResponders(reply)) {  // nothing received: ask again, from the first page
        start_over(m);
        if (wire.retry_later(&op, false)) return false;
        op.fail(KVW_ENOTCONN, "no JetStream responder for the bucket until the op's deadline");
        return true;
    }
    const char *status = header(reply, "Status");
    if (status == nullptr) {  // a record of one of the keys
        const Record r = parse_record(reply);
        const char *subject = header(reply, hdr::kSubject);
        const std::string prefix = op.bucket->subject("");
        if (r.status != KVW_OK || subject == nullptr || std::strncmp(subject, prefix.c_str(), prefix.size()) != 0) {
            op.fail(KVW_ESERVER, "multi-key read: a reply kvw cannot read (" + r.message + ")");
            return true;
        }
        ManyRecord &rec = m.found[subject + prefix.size()];
        rec.version = r.version;
        rec.op = r.op;
        rec.ttl_ms = r.ttl_ms;
        const int len = natsMsg_GetDataLength(reply);
        rec.value.assign(len > 0 ? natsMsg_GetData(reply) : "", static_cast<size_t>(std::max(len, 0)));
        wire.await_more(&op);
        return false;
    }
    if (std::strcmp(status, "404") == 0) {  // none of the keys has a record
        m.found.clear();
        m.up_to = 0;
    } else if (std::strcmp(status, "204") == 0) {  // end of a page
        if (m.up_to == 0) m.up_to = number_in(header(reply, "Nats-UpTo-Sequence"));
        if (number_in(header(reply, "Nats-Num-Pending")) > 0) {
            m.next_seq = number_in(header(reply, "Nats-Last-Sequence")) + 1;
            const int rc = send_many_step(wire, op);
            if (rc == KVW_OK) return false;
            op.fail(rc, std::string("multi-key read: asking for the next page failed: ") + kvw_strerror(rc));
            return true;
        }
    } else {
        const char *desc = header(reply, "Description");
        op.fail(KVW_ESERVER, std::string("multi-key read: ") + status + " " + (desc != nullptr ? desc : ""));
        return true;
    }
    // Complete. It must include every version this client has seen of its keys.
    if (const KeyFloors *floors = op.bucket->floors()) {
        uint64_t floor = 0;
        for (const std::string &k : m.keys) floor = std::max(floor, floors->floor(k));
        if (floor > m.up_to) return behind(wire, op, floor);
    }
    op.status = KVW_OK;
    op.message.clear();
    op.version = m.up_to;
    return true;
}

void build_many_results(Many &m)
{
    m.results.assign(m.keys.size(), kvw_result{});
    for (size_t i = 0; i < m.keys.size(); i++) {
        kvw_result &r = m.results[i];
        r.op = KVW_OP_GET_ENTRY;
        r.key = m.keys[i].c_str();
        auto it = m.found.find(m.keys[i]);
        if (it == m.found.end()) {
            r.status = KVW_ENOTFOUND;
            r.message = "key not found";
            r.value = "";
            continue;
        }
        const ManyRecord &rec = it->second;
        r.status = KVW_OK;
        r.message = "success";
        r.version = make_version(rec.version);
        r.entry_op = rec.op;
        r.value = rec.value.data();
        r.value_len = rec.value.size();
        r.ttl_ms = rec.ttl_ms;
    }
}

}  // namespace kvw
