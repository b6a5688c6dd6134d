// libFuzzer target: kvw::msg_get_as_direct (lib/msg_get.h), which turns the
// stream leader's JSON reply ($JS.API.STREAM.MSG.GET) into the message a
// direct get sends, and kvw::base64_decode. Two kinds of input:
//  0. arbitrary reply bytes: never crashes, and parse_record classifies the
//     result (an OK record has a version);
//  1. a reply built from fuzzed fields the way the server writes it (seq,
//     base64 headers with KV-Operation, base64 data): the record reads back
//     with that version, operation and data.
// Besides, base64_decode inverts a standard encoder on the fuzzed bytes.
#include "msg_get.h"
#include "ops.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <nats/nats.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                          \
        }                                                                          \
    } while (0)

#if NATS_VERSION_MAJOR != 3
#error "natsMsg_free below is nats.c 3.x's internal destructor"
#endif
// Exported by libnats 3.x but not in its public header (as in fuzz_record):
// frees at once instead of through nats.c's garbage-collector thread.
extern "C" void natsMsg_free(void *msg);

namespace {

std::string base64(const std::string &in)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        out += {abc[n >> 18], abc[n >> 12 & 63], abc[n >> 6 & 63], abc[n & 63]};
    }
    if (in.size() - i == 1) {
        const uint32_t n = uint32_t(uint8_t(in[i])) << 16;
        out += {abc[n >> 18], abc[n >> 12 & 63], '=', '='};
    } else if (in.size() - i == 2) {
        const uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
        out += {abc[n >> 18], abc[n >> 12 & 63], abc[n >> 6 & 63], '='};
    }
    return out;
}

// Runs the conversion and the parser; returns the record (and the data).
kvw::Record read_reply(const std::string &json, std::string *data)
{
    natsMsg *reply = nullptr, *direct = nullptr;
    CHECK(natsMsg_Create(&reply, "_INBOX.fuzz.1", nullptr, json.data(), int(json.size())) == NATS_OK);
    const natsStatus s = kvw::msg_get_as_direct(reply, &direct);
    CHECK(s == NATS_OK);
    natsMsg *m = direct != nullptr ? direct : reply;
    kvw::Record r = kvw::parse_record(m);
    const char *d = natsMsg_GetData(m);
    data->assign(d != nullptr ? d : "", size_t(natsMsg_GetDataLength(m)));
    if (direct != nullptr) natsMsg_free(direct);
    natsMsg_free(reply);
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    CHECK(nats_Open(-1) == NATS_OK);  // messages destroyed inside the library go through its GC
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    FuzzedDataProvider in(bytes, size);
    const int kind = in.ConsumeIntegralInRange<int>(0, 1);
    std::string data;
    if (kind == 0) {
        const kvw::Record r = read_reply(in.ConsumeRemainingBytesAsString(), &data);
        CHECK(r.status != KVW_OK || r.version > 0);
        return 0;
    }
    const uint64_t seq = in.ConsumeIntegralInRange<uint64_t>(1, UINT64_MAX);
    const int op = in.ConsumeIntegralInRange<int>(0, 2);
    const std::string value = in.ConsumeRemainingBytesAsString();
    std::string decoded;
    CHECK(kvw::base64_decode(base64(value), &decoded) && decoded == value);
    const std::string hdrs = op == 0 ? "" : std::string("NATS/1.0\r\nKV-Operation: ") + (op == 1 ? "DEL" : "PURGE") + "\r\n\r\n";
    std::string json = "{\"type\":\"io.nats.jetstream.api.v1.stream_msg_get_response\",\"message\":{\"subject\":\"$KV.b.k\","
                       "\"seq\":" + std::to_string(seq);
    if (!hdrs.empty()) json += ",\"hdrs\":\"" + base64(hdrs) + "\"";
    if (!value.empty()) json += ",\"data\":\"" + base64(value) + "\"";
    json += ",\"time\":\"2026-12-03T09:00:00Z\"}}";
    const kvw::Record r = read_reply(json, &data);
    CHECK(r.status == KVW_OK);
    CHECK(r.version == seq);
    CHECK(r.op == (op == 0 ? KVW_ENTRY_PUT : op == 1 ? KVW_ENTRY_DELETE : KVW_ENTRY_PURGE));
    CHECK(data == value);
    return 0;
}
