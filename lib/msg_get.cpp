#include "msg_get.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace kvw {

using json = nlohmann::json;

std::string last_by_subject_request(const std::string &subject)
{
    return "{\"last_by_subj\":\"" + subject + "\"}";
}

bool base64_decode(const std::string &in, std::string *out)
{
    out->clear();
    out->reserve(in.size() / 4 * 3);
    uint32_t bits = 0;
    int n = 0, pad = 0;
    for (const char ch : in) {
        int v;
        if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
        else if (ch == '+') v = 62;
        else if (ch == '/') v = 63;
        else if (ch == '=') { ++pad; continue; }
        else return false;
        if (pad > 0) return false;  // data after padding
        bits = bits << 6 | static_cast<uint32_t>(v);
        if (++n == 4) {
            out->push_back(static_cast<char>(bits >> 16));
            out->push_back(static_cast<char>(bits >> 8 & 0xff));
            out->push_back(static_cast<char>(bits & 0xff));
            bits = 0;
            n = 0;
        }
    }
    if (n == 1 || pad > 2 || (n == 0 && pad > 0) || (n > 0 && pad > 0 && n + pad != 4)) return false;
    if (n == 2) out->push_back(static_cast<char>(bits >> 4));
    if (n == 3) {
        out->push_back(static_cast<char>(bits >> 10));
        out->push_back(static_cast<char>(bits >> 2 & 0xff));
    }
    return true;
}

namespace {

natsStatus status_message(const std::string &code, const std::string &text, natsMsg **out)
{
    natsStatus s = natsMsg_Create(out, "_kvw.msg_get", nullptr, nullptr, 0);
    if (s == NATS_OK) s = natsMsgHeader_Set(*out, "Status", code.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(*out, "Description", text.c_str());
    return s;
}

// "NATS/1.0\r\nKey: value\r\n...\r\n\r\n" (a stored record's header block)
// into `msg`. false when a line is not "Key: value".
bool add_headers(natsMsg *msg, const std::string &block)
{
    size_t at = block.find("\r\n");
    if (at == std::string::npos || block.compare(0, 8, "NATS/1.0") != 0) return false;
    for (at += 2; at < block.size();) {
        const size_t end = block.find("\r\n", at);
        if (end == std::string::npos) return false;
        if (end == at) break;  // the blank line that ends the block
        const std::string line = block.substr(at, end - at);
        const size_t colon = line.find(':');
        if (colon == std::string::npos || colon == 0) return false;
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        if (natsMsgHeader_Add(msg, line.substr(0, colon).c_str(), line.substr(v).c_str()) != NATS_OK)
            return false;
        at = end + 2;
    }
    return true;
}

}  // namespace

natsStatus msg_get_as_direct(natsMsg *reply, natsMsg **out)
{
    *out = nullptr;
    const char *status = nullptr;
    if (natsMsg_IsNoResponders(reply) || natsMsgHeader_Get(reply, "Status", &status) == NATS_OK) return NATS_OK;
    const char *data = natsMsg_GetData(reply);
    const int len = natsMsg_GetDataLength(reply);
    const json r = json::parse(std::string(data != nullptr ? data : "", data != nullptr && len > 0 ? len : 0),
                               nullptr, false);
    if (!r.is_object()) return status_message("500", "stream leader's get: not a JSON reply", out);
    if (r.contains("error")) {
        const json &e = r["error"];
        const int64_t code = e.is_object() ? e.value("code", int64_t(500)) : 500;
        std::string text = e.is_object() ? e.value("description", std::string("error")) : "error";
        if (e.is_object() && e.contains("err_code") && e["err_code"].is_number_integer())
            text += " (" + std::to_string(e["err_code"].get<int64_t>()) + ")";
        return status_message(std::to_string(code), "stream leader's get: " + text, out);
    }
    const json m = r.value("message", json());
    std::string hdrs, body;
    if (!m.is_object() || !m.contains("seq") || !m["seq"].is_number_unsigned() ||
        !base64_decode(m.value("hdrs", std::string()), &hdrs) || !base64_decode(m.value("data", std::string()), &body))
        return status_message("500", "stream leader's get: malformed message in the reply", out);
    const std::string subject = m.value("subject", std::string("_kvw.msg_get"));
    natsStatus s = natsMsg_Create(out, subject.empty() ? "_kvw.msg_get" : subject.c_str(), nullptr, body.data(),
                                  static_cast<int>(body.size()));
    if (s != NATS_OK) return s;
    if (!hdrs.empty() && !add_headers(*out, hdrs)) {
        natsMsg_Destroy(*out);
        return status_message("500", "stream leader's get: malformed record headers", out);
    }
    return natsMsgHeader_Set(*out, "Nats-Sequence", std::to_string(m["seq"].get<uint64_t>()).c_str());
}

}  // namespace kvw
