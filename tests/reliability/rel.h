/*
 * Helpers shared by the reliability suites (tests/reliability/test_rel_*.c):
 *
 *   - a load: N tracked ops, each with its own callback counter, so a test
 *     can prove "every accepted op got exactly one callback" per op id;
 *   - deterministic keys and values per op id, so what the server holds can
 *     be checked byte for byte afterwards;
 *   - verification through nats.c's own KV API (kvStore_WatchAll with
 *     history, kvStore_GetRevision, kvStore_Get), never through kvw;
 *   - a three-node nats-server cluster on loopback (built on natsserver.h);
 *   - process gauges for the soak: VmRSS, open descriptors, threads.
 *
 * Callbacks only record (atomics + a kt_waiter); cmocka asserts run on the
 * test thread. Every wait is bounded.
 */
#ifndef KVW_TESTS_REL_H
#define KVW_TESTS_REL_H

#include <stddef.h>
#include <stdint.h>

#include <kvw/kvw.h>

#include "support/kvwtest.h"
#include "support/natsserver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- load */

#define REL_NOT_SUBMITTED 1 /* rel_op.submit_rc before the op was tried */
#define REL_VALUE_MAX 160 /* default values: 46..128 bytes */

struct rel_load;

typedef struct rel_op {
    struct rel_load *load;
    int id;
    int submit_rc;  /* REL_NOT_SUBMITTED, 0 (accepted) or the refusal */
    int calls;      /* atomic: how many times the callback ran */
    int status;     /* written before calls is incremented */
    uint64_t rev;   /* writes reported OK: the version */
    int key_ok;     /* result->key was this op's key */
    int64_t submit_ms, done_ms; /* kt_now_ms() before the submit call / at the first callback */
    char message[120];          /* the first callback's result->message (cut) */
} rel_op;

typedef struct rel_load {
    rel_op *ops;
    int n;
    char prefix[16];      /* keys are "<prefix>.<id>" */
    kt_waiter done;       /* +1 per callback run */
    long dup_calls;       /* atomic: callback runs beyond an op's first */
    int next_id;          /* atomic: rel_put_range's progress (first id not yet tried) */
    int stop;             /* atomic: set to make rel_put_range return early */
    int max_ok_id;        /* atomic: highest id whose callback said KVW_OK (-1: none) */
    size_t value_len;     /* 0: default values; else every value has exactly this size */
    int rate_per_s;       /* > 0: rel_put_range submits at most this many ops per second */
    /* Optional, run inside every callback after recording. */
    void (*hook)(rel_op *op, const kvw_result *r);
    void *hook_data;
} rel_load;

/* Allocates n ops (not submitted); free with rel_load_free after the client is freed. */
rel_load *rel_load_new(int n, const char *prefix);
void rel_load_free(rel_load *l);

/* The op's key and value (deterministic; the value embeds the id). rel_value
 * writes the value's bytes into out (size >= REL_VALUE_MAX, or > l->value_len
 * when that is set) and returns its length. */
void rel_key(const rel_load *l, int id, char *out, size_t size);
size_t rel_value(const rel_load *l, int id, char *out, size_t size);

/* The kvw callback for tracked ops (user_data = rel_op*). */
void rel_cb(const kvw_result *r, void *user_data);

/* kvw_put of op `id`; records and returns the submit code. */
int rel_put(kvw_bucket *b, rel_load *l, int id);
/* Op `id` as KVW_OP_PUT, KVW_OP_CREATE (same value) or KVW_OP_GET (its key). */
int rel_submit(kvw_bucket *b, rel_load *l, int id, kvw_op kind);

/* Submits ops [first, first+count) with kvw_put, retrying each refused op
 * (KVW_EBUSY: after a callback or 20 ms; other retryable codes: after 5 ms)
 * until `deadline_ms` (kt_now_ms() scale). Returns how many were accepted.
 * Counts refusals by code in `refused` (indexed by -code, size 32) if given. */
int rel_put_range(kvw_bucket *b, rel_load *l, int first, int count, int64_t deadline_ms,
                  long *refused);

/* Waits until every accepted op has had a callback (bounded). 0 or -1. */
int rel_wait_all(rel_load *l, int timeout_ms);

typedef struct rel_tally {
    int submitted, accepted, refused;
    long callbacks;
    int missing, duplicated;  /* accepted ops with 0 / >1 callbacks */
    int unexpected;           /* refused ops with a callback */
    int bad_key;              /* callbacks whose result->key was not the op's */
    int ok, unknown, failed;  /* accepted ops by outcome */
    int by_status[32];        /* accepted ops by -status */
} rel_tally;

void rel_tally_of(rel_load *l, rel_tally *t);
/* Accepted ops that ended KVW_ETIMEDOUT or KVW_ENOTCONN more than
 * REL_DEADLINE_SLACK_MS before `deadline_ms` after they were submitted:
 * failures before their deadline really passed (kvw's last "no responders"
 * retry goes 20 ms before the deadline). */
#define REL_DEADLINE_SLACK_MS 50
int rel_early_failures(rel_load *l, int64_t deadline_ms);
/* Prints up to `max` of them: how early, status and message. */
void rel_print_early_failures(rel_load *l, int64_t deadline_ms, int max);
/* Prints the tally (one line, prefixed by `what`). */
void rel_tally_print(const char *what, const rel_tally *t);
/* cmocka: every accepted op exactly one callback; none for refused ops. */
void rel_assert_exactly_once(rel_load *l);

/* ------------------------------------------------------- verification */

typedef struct rel_verify_stats {
    long records;         /* records in the bucket (all history) */
    int ok_verified;      /* OK ops found with their value at their version */
    int ok_lost;          /* OK ops absent, or at another version */
    int ok_revision_read; /* OK ops also read back with kvStore_GetRevision */
    int unknown_present, unknown_absent;
    int failed_absent;
    int failed_present;   /* definite failures (or refusals) that were stored anyway */
    int corrupted;        /* a record whose value is not its op's value */
    int duplicated;       /* an op stored more than once */
    int stray;            /* records under keys no op wrote */
    /* The OK ops counted in ok_lost (each once): how many, and when their
     * callbacks ran (done_ms of the first REL_LOST_KEPT of them). */
    int lost_ops;
    int64_t lost_done_ms[16];
} rel_verify_stats;
#define REL_LOST_KEPT 16

/*
 * Reads bucket `bucket` through `url` with nats.c's KV API (kvStore_WatchAll,
 * history included; kvStore_GetRevision for every `revision_every`-th OK op,
 * 0 = none; kvStore_Get for every outcome-unknown op) and classifies every op
 * of the `nloads` loads (distinct prefixes) that wrote to it; a record under
 * any other key is stray. 0 on a completed read, -1 if the read itself failed.
 */
int rel_verify(const char *url, const char *bucket, rel_load *const *loads, int nloads,
               int revision_every, rel_verify_stats *v);
void rel_verify_print(const char *what, const rel_verify_stats *v);
/* cmocka: no OK op lost, nothing corrupted, duplicated or stray, no definite
 * failure stored. */
void rel_assert_verified(const rel_verify_stats *v);

/* ------------------------------------------------------------ cluster */

#define REL_CLUSTER_NODES 3

typedef struct rel_cluster {
    ts_server *node[REL_CLUSTER_NODES];
    char name[REL_CLUSTER_NODES][16]; /* server_name of each node */
    int route_port[REL_CLUSTER_NODES];
    char urls[REL_CLUSTER_NODES * 40];  /* all client URLs, comma-separated */
} rel_cluster;

/* Writes the node configs (server_name, cluster {listen, routes}), starts the
 * nodes and waits (<= timeout_ms) until JetStream has a meta leader.
 * 0 or -1 (everything stopped again on failure). */
int rel_cluster_start(rel_cluster *c, int timeout_ms);
/* How many replicas of the stream (leader included) are current, as seen
 * through node `via`; -1 if it cannot tell. */
int rel_cluster_stream_current(rel_cluster *c, int via, const char *stream);
/* Index of the node whose server_name is `name`, or -1. */
int rel_cluster_index(const rel_cluster *c, const char *name);
/* The stream's leader (server_name) as seen through node `via`, copied to out;
 * 0 or -1 (no leader yet / node unreachable). */
int rel_cluster_stream_leader(rel_cluster *c, int via, const char *stream, char *out,
                              size_t size);
/* Stops every node and removes the directories. */
void rel_cluster_free(rel_cluster *c);

/* ------------------------------------------------------------- gauges */

long rel_rss_kb(void);       /* VmRSS from /proc/self/status, -1 on error */
int rel_fd_count(void);      /* entries of /proc/self/fd (minus the one used to list) */
int rel_thread_count(void);  /* entries of /proc/self/task */

/* Seconds from the environment variable `name` (a positive integer), else `def`. */
int rel_env_seconds(const char *name, int def);

#ifdef __cplusplus
}
#endif

#endif
