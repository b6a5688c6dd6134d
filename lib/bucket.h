// A KV bucket: its name, subjects and size limits, resolved at open.
#pragma once

#include <kvw/kvw.h>

#include <atomic>
#include <memory>
#include <string>

namespace kvw {

class Client;

class Bucket {
public:
    static int open(std::shared_ptr<Bucket> *out, const std::shared_ptr<Client> &client,
                    const char *name, const kvw_bucket_options *opts);

    Client &client() const { return *client_; }
    const std::string &name() const { return name_; }
    std::string subject(const std::string &key) const
    {
        std::string s;  // one allocation ("$KV." + name_ + "." + key made three)
        s.reserve(subject_prefix_.size() + key.size());
        s.append(subject_prefix_).append(key);
        return s;
    }
    const std::string &direct_get_subject() const { return direct_get_; }

    // Largest payload for an op whose headers take `header_bytes`.
    int64_t max_payload(int64_t header_bytes) const { return max_message_ - header_bytes; }
    int64_t max_value_size() const { return max_message_; }

    void close() { closed_.store(true); }
    bool closed() const { return closed_.load(); }

private:
    std::shared_ptr<Client> client_;
    std::string name_;
    std::string subject_prefix_;  // "$KV.<name>."
    std::string direct_get_;
    int64_t max_message_ = 0;  // headers + payload, the smaller of server and stream limits
    std::atomic<bool> closed_{false};
};

}  // namespace kvw
