// A KV bucket: its name, subjects, size limits and features, read from its
// stream's configuration at open.
#pragma once

#include "floors.h"

#include <kvw/kvw.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>

namespace kvw {

class BulkLane;
class Client;

// Bytes of a kvw_bucket_options of `version` (a caller's struct is only that
// long); 0 for a version this library does not know.
size_t bucket_options_size(unsigned int version);

// What a bucket's stream configuration allows (kvw.h, FEATURES).
struct StreamFeatures {
    bool ttl = false, markers = false, atomic = false, batched = false;
    int history = 1;
};

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
    const std::string &subject_prefix() const { return subject_prefix_; }  // "$KV.<name>."
    const std::string &direct_get_subject() const { return direct_get_; }
    // The stream leader's get ($JS.API.STREAM.MSG.GET), JSON in and out.
    const std::string &msg_get_subject() const { return msg_get_; }
    kvw_read_mode read_mode() const { return read_mode_; }
    // Per-key versions this client's ops on the bucket have seen (KVW_READ_CHECKED
    // on a replicated bucket), else null.
    KeyFloors *floors() const { return floors_.get(); }

    // Largest payload for an op whose headers take `header_bytes`.
    int64_t max_payload(int64_t header_bytes) const { return max_message_ - header_bytes; }
    int64_t max_value_size() const { return max_message_; }
    // How long the stream remembers write ids (0: it does not).
    int64_t duplicate_window_ms() const { return duplicate_window_ms_; }

    // Features (kvw.h, FEATURES). supports() is lock-free: ops ask per submit.
    bool supports(int feature) const;
    // "supported" or what is missing; owned by the bucket.
    const char *feature_status(int feature);
    int enable_ttl(int64_t limit_marker_ttl_ms);

    // A bulk handle's lane (kvw.h, BULK WRITES), else null.
    BulkLane *lane() const { return lane_.get(); }

    void close() { closed_.store(true); }
    bool closed() const { return closed_.load(); }

private:
    void set_features(const StreamFeatures &f);

    std::shared_ptr<Client> client_;
    std::string name_;
    std::string stream_;          // "KV_<name>"
    std::string subject_prefix_;  // "$KV.<name>."
    std::string direct_get_;
    std::string msg_get_;
    kvw_read_mode read_mode_ = KVW_READ_CHECKED;
    std::shared_ptr<KeyFloors> floors_;
    std::shared_ptr<BulkLane> lane_;
    int64_t max_message_ = 0;  // headers + payload, the smaller of server and stream limits
    int64_t duplicate_window_ms_ = 0;
    std::atomic<bool> ttl_{false};
    std::atomic<bool> markers_{false};
    std::atomic<bool> atomic_{false};
    std::atomic<bool> batched_{false};
    std::atomic<int> history_{1};
    // Every feature_status text handed out, kept until the bucket goes: a
    // caller may hold one while another thread asks again. A handful at most.
    std::mutex status_mu_;
    std::list<std::string> status_texts_;
    std::atomic<bool> closed_{false};
};

}  // namespace kvw
