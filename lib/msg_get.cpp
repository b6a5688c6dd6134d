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

// Fields of the server's JSON, read without throwing whatever their type:
// this runs on a nats.c thread, where an exception would end the process.
std::string text_field(const json &j, const char *name, const std::string &otherwise)
{
    const auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

int64_t int_field(const json &j, const char *name, int64_t otherwise)
{
    const auto it = j.find(name);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : otherwise;
}

natsStatus convert(natsMsg *reply, natsMsg **out);

}  // namespace

natsStatus msg_get_as_direct(natsMsg *reply, natsMsg **out)
{
    *out = nullptr;
    try {
        return convert(reply, out);
    } catch (...) {  // std::bad_alloc building strings
        natsMsg_Destroy(*out);
        *out = nullptr;
        return NATS_NO_MEMORY;
    }
}

namespace {

natsStatus convert(natsMsg *reply, natsMsg **out)
{
    const char *status = nullptr;
    if (natsMsg_IsNoResponders(reply) || natsMsgHeader_Get(reply, "Status", &status) == NATS_OK) return NATS_OK;
    const char *data = natsMsg_GetData(reply);
    const int len = natsMsg_GetDataLength(reply);
    const json r = json::parse(std::string(data != nullptr ? data : "", data != nullptr && len > 0 ? len : 0),
                               nullptr, false);
    if (!r.is_object()) return status_message("500", "stream leader's get: not a JSON reply", out);
    if (r.contains("error")) {
        const json &e = r["error"];
        const json none = json::object();
        const json &eo = e.is_object() ? e : none;
        std::string text = text_field(eo, "description", "error");
        const int64_t err_code = int_field(eo, "err_code", 0);
        if (err_code != 0) text += " (" + std::to_string(err_code) + ")";
        return status_message(std::to_string(int_field(eo, "code", 500)), "stream leader's get: " + text, out);
    }
    const auto mi = r.find("message");
    std::string hdrs, body;
    if (mi == r.end() || !mi->is_object() || !mi->contains("seq") || !(*mi)["seq"].is_number_unsigned() ||
        !base64_decode(text_field(*mi, "hdrs", ""), &hdrs) || !base64_decode(text_field(*mi, "data", ""), &body))
        return status_message("500", "stream leader's get: malformed message in the reply", out);
    const json &m = *mi;
    const std::string subject = text_field(m, "subject", "");
    natsStatus s = natsMsg_Create(out, subject.empty() ? "_kvw.msg_get" : subject.c_str(), nullptr, body.data(),
                                  static_cast<int>(body.size()));
    if (s != NATS_OK) return s;
    if (!hdrs.empty() && !add_headers(*out, hdrs)) {
        natsMsg_Destroy(*out);
        return status_message("500", "stream leader's get: malformed record headers", out);
    }
    return natsMsgHeader_Set(*out, "Nats-Sequence", std::to_string(m["seq"].get<uint64_t>()).c_str());
}

}  // namespace

}  // namespace kvw
