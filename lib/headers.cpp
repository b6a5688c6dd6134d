#include "headers.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace kvw {

namespace {
constexpr int64_t kFrame = 12;                       // "NATS/1.0\r\n" ... "\r\n"
constexpr int64_t kExpect = 37 + 20 + 2;             // "Nats-Expected-Last-Subject-Sequence: " u64 "\r\n"
constexpr int64_t kTtlLine = 10 + 20 + 2;            // "Nats-TTL: " "<=19 digits>s" "\r\n"
}  // namespace

const char *header(natsMsg *msg, const char *name)
{
    const char *v = nullptr;
    return natsMsgHeader_Get(msg, name, &v) == NATS_OK ? v : nullptr;
}

int64_t header_bytes(kvw_op kind, bool with_ttl, bool with_id)
{
    int64_t lines = (with_ttl ? kTtlLine : 0) + (with_id ? 13 + kMaxWriteIdLen + 2 : 0);
    switch (kind) {
    case KVW_OP_CREATE:
    case KVW_OP_UPDATE:
    case KVW_OP_DELETE_WITH_VERSION: lines += kExpect; break;
    case KVW_OP_DELETE: lines += 19; break;        // "KV-Operation: DEL\r\n"
    case KVW_OP_PURGE: lines += 21 + 18; break;    // + "Nats-Rollup: sub\r\n"
    default: break;
    }
    return lines > 0 ? kFrame + lines : 0;
}

int64_t batch_header_bytes()
{
    // "Nats-Batch-Id: " id "\r\n", "Nats-Batch-Sequence: " <= 4 digits "\r\n",
    // "Nats-Batch-Commit: 1\r\n", and the frame if the write has no header of its own.
    return kFrame + (15 + kMaxWriteIdLen + 2) + (21 + 4 + 2) + (19 + 1 + 2);
}

int check_ttl(int64_t ttl_ms)
{
    if (ttl_ms == KVW_TTL_NEVER) return KVW_OK;
    if (ttl_ms < 1000 || ttl_ms > KVW_TTL_MAX_MS || ttl_ms % 1000 != 0) return KVW_EBADTTL;
    return KVW_OK;
}

std::string format_ttl(int64_t ttl_ms)
{
    return ttl_ms == KVW_TTL_NEVER ? std::string("never") : std::to_string(ttl_ms / 1000) + "s";
}

bool parse_ttl(const char *text, int64_t *ms)
{
    *ms = 0;
    if (text == nullptr || *text == '\0') return false;
    if (std::strcmp(text, "never") == 0) {
        *ms = KVW_TTL_NEVER;
        return true;
    }
    // Integer seconds.
    const char *p = text;
    while (*p >= '0' && *p <= '9') ++p;
    if (*p == '\0') {
        if (p - text > 12) return false;  // > ~31,000 years: not a TTL
        *ms = std::strtoll(text, nullptr, 10) * 1000;
        return true;
    }
    // A Go duration: one or more <decimal><unit>, units h m s ms us µs ns.
    double total_ms = 0;
    p = text;
    while (*p != '\0') {
        char *end = nullptr;
        if (!((*p >= '0' && *p <= '9') || *p == '.')) return false;
        const double n = std::strtod(p, &end);
        if (end == p || !std::isfinite(n)) return false;
        p = end;
        double unit_ms;
        if (std::strncmp(p, "ms", 2) == 0) unit_ms = 1, p += 2;
        else if (std::strncmp(p, "us", 2) == 0) unit_ms = 1e-3, p += 2;
        else if (std::strncmp(p, "\xc2\xb5s", 3) == 0) unit_ms = 1e-3, p += 3;
        else if (std::strncmp(p, "ns", 2) == 0) unit_ms = 1e-6, p += 2;
        else if (*p == 'h') unit_ms = 3600e3, p += 1;
        else if (*p == 'm') unit_ms = 60e3, p += 1;
        else if (*p == 's') unit_ms = 1e3, p += 1;
        else return false;
        total_ms += n * unit_ms;
        if (total_ms > 9.2e15) return false;
    }
    *ms = static_cast<int64_t>(total_ms);
    return true;
}

kvw_entry_op marker_entry_op(const char *reason)
{
    if (reason == nullptr) return KVW_ENTRY_NONE;
    if (std::strcmp(reason, "MaxAge") == 0 || std::strcmp(reason, "Purge") == 0) return KVW_ENTRY_PURGE;
    if (std::strcmp(reason, "Remove") == 0) return KVW_ENTRY_DELETE;
    return KVW_ENTRY_NONE;
}

std::string denied_publish_subject(const std::string &text)
{
    static const char kPhrase[] = "publish to ";
    std::string lower = text;
    for (char &ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const size_t at = lower.find(kPhrase);
    if (at == std::string::npos) return std::string();
    std::string subject = text.substr(at + sizeof kPhrase - 1);
    const size_t first = subject.find_first_not_of("\"' ");
    if (first == std::string::npos) return std::string();
    subject.erase(0, first);
    subject.erase(subject.find_last_not_of("\"' ") + 1);
    return subject;
}

uint64_t last_sequence_in(const char *text)
{
    static const char kPrefix[] = "wrong last sequence: ";
    const char *p = text != nullptr ? std::strstr(text, kPrefix) : nullptr;
    return p != nullptr ? std::strtoull(p + sizeof kPrefix - 1, nullptr, 10) : 0;
}

}  // namespace kvw
