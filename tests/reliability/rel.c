#define _GNU_SOURCE
#include "rel.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nats/nats.h>

/* ---------------------------------------------------------------- load */

rel_load *rel_load_new(int n, const char *prefix)
{
    rel_load *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->ops = calloc((size_t)n, sizeof *l->ops);
    if (!l->ops) {
        free(l);
        return NULL;
    }
    l->n = n;
    l->max_ok_id = -1;
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
    kt_waiter_init(&l->done);
    for (int i = 0; i < n; i++) {
        l->ops[i].load = l;
        l->ops[i].id = i;
        l->ops[i].submit_rc = REL_NOT_SUBMITTED;
    }
    return l;
}

void rel_load_free(rel_load *l)
{
    if (!l)
        return;
    kt_waiter_destroy(&l->done);
    free(l->ops);
    free(l);
}

void rel_key(const rel_load *l, int id, char *out, size_t size)
{
    snprintf(out, size, "%s.%d", l->prefix, id);
}

size_t rel_value(const rel_load *l, int id, char *out, size_t size)
{
    /* "id=<id>;" then pseudo-random printable bytes derived from the id:
     * 40..119 of them, or up to l->value_len in all. */
    int n = snprintf(out, size, "id=%d;", id);
    size_t len = l->value_len ? l->value_len : (size_t)n + 40 + (size_t)(((unsigned)id * 37u) % 80u);
    if (len > size - 1)
        len = size - 1;
    uint32_t x = (uint32_t)id * 2654435761u + 12345u;
    for (size_t i = (size_t)n; i < len; i++) {
        x = x * 1103515245u + 12345u;
        out[i] = (char)('!' + (x >> 16) % 94u);
    }
    out[len] = '\0';
    return len;
}

void rel_cb(const kvw_result *r, void *user_data)
{
    rel_op *op = user_data;
    rel_load *l = op->load;
    char key[64];
    rel_key(l, op->id, key, sizeof key);
    int first = __atomic_load_n(&op->calls, __ATOMIC_ACQUIRE) == 0;
    if (first) {
        op->done_ms = kt_now_ms();
        snprintf(op->message, sizeof op->message, "%s", r->message ? r->message : "");
        op->status = r->status;
        op->rev = 0;
        if (r->status == KVW_OK)
            kvw_version_to_u64(&r->version, &op->rev);
        op->key_ok = r->key != NULL && strcmp(r->key, key) == 0;
    }
    if (r->status == KVW_OK) {
        int cur = __atomic_load_n(&l->max_ok_id, __ATOMIC_RELAXED);
        while (cur < op->id && !__atomic_compare_exchange_n(&l->max_ok_id, &cur, op->id, 1,
                                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        }
    }
    if (__atomic_fetch_add(&op->calls, 1, __ATOMIC_ACQ_REL) > 0)
        __atomic_fetch_add(&l->dup_calls, 1, __ATOMIC_RELAXED);
    if (l->hook)
        l->hook(op, r);
    kt_waiter_signal(&l->done);
}

/* A buffer for an op's value: `stack` (REL_VALUE_MAX bytes) or the heap. */
static char *value_buf(const rel_load *l, char *stack, size_t *size)
{
    *size = l->value_len ? l->value_len + 1 : REL_VALUE_MAX;
    return l->value_len ? malloc(*size) : stack;
}

int rel_submit(kvw_bucket *b, rel_load *l, int id, kvw_op kind)
{
    char key[64], stack[REL_VALUE_MAX];
    size_t size;
    char *val = value_buf(l, stack, &size);
    if (!val)
        return KVW_ENOMEM;
    rel_key(l, id, key, sizeof key);
    size_t n = rel_value(l, id, val, size);
    l->ops[id].submit_ms = kt_now_ms();
    int rc = kind == KVW_OP_CREATE ? kvw_create(b, key, val, n, rel_cb, &l->ops[id])
           : kind == KVW_OP_GET    ? kvw_get(b, key, rel_cb, &l->ops[id])
                                   : kvw_put(b, key, val, n, rel_cb, &l->ops[id]);
    l->ops[id].submit_rc = rc;
    if (val != stack)
        free(val);
    return rc;
}

int rel_put(kvw_bucket *b, rel_load *l, int id) { return rel_submit(b, l, id, KVW_OP_PUT); }

int rel_put_range(kvw_bucket *b, rel_load *l, int first, int count, int64_t deadline_ms,
                  long *refused)
{
    int accepted = 0;
    int64_t t0 = kt_now_ms();
    for (int id = first; id < first + count; id++) {
        __atomic_store_n(&l->next_id, id, __ATOMIC_RELEASE);
        if (__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
            return accepted;
        if (l->rate_per_s > 0) {
            int64_t due = t0 + (int64_t)(id - first) * 1000 / l->rate_per_s;
            int64_t now = kt_now_ms();
            if (due > now)
                kt_sleep_ms((int)(due - now));
        }
        for (;;) {
            long seen = kt_waiter_count(&l->done);
            int rc = rel_put(b, l, id);
            if (rc == 0) {
                accepted++;
                break;
            }
            if (refused && -rc >= 0 && -rc < 32)
                refused[-rc]++;
            if (rc == KVW_ECLOSED || rc == KVW_EINVAL || rc == KVW_EBADKEY || rc == KVW_ETOOBIG ||
                kt_now_ms() > deadline_ms)
                return accepted; /* the op stays refused */
            if (rc == KVW_EBUSY)
                kt_waiter_wait(&l->done, seen + 1, 20); /* room frees as callbacks run */
            else
                kt_sleep_ms(5); /* e.g. KVW_ENOTCONN while reconnecting: back off */
        }
    }
    __atomic_store_n(&l->next_id, first + count, __ATOMIC_RELEASE);
    return accepted;
}

int rel_wait_all(rel_load *l, int timeout_ms)
{
    long want = 0;
    for (int i = 0; i < l->n; i++)
        want += l->ops[i].submit_rc == 0;
    return kt_waiter_wait(&l->done, want, timeout_ms);
}

void rel_tally_of(rel_load *l, rel_tally *t)
{
    memset(t, 0, sizeof *t);
    t->callbacks = kt_waiter_count(&l->done);
    for (int i = 0; i < l->n; i++) {
        rel_op *op = &l->ops[i];
        int calls = __atomic_load_n(&op->calls, __ATOMIC_ACQUIRE);
        if (op->submit_rc == REL_NOT_SUBMITTED)
            continue;
        t->submitted++;
        if (op->submit_rc != 0) {
            t->refused++;
            if (calls != 0)
                t->unexpected++;
            continue;
        }
        t->accepted++;
        if (calls == 0) {
            t->missing++;
            continue;
        }
        if (calls > 1)
            t->duplicated++;
        if (!op->key_ok)
            t->bad_key++;
        if (op->status == KVW_OK)
            t->ok++;
        else if (kvw_err_outcome_unknown(op->status))
            t->unknown++;
        else
            t->failed++;
        if (-op->status >= 0 && -op->status < 32)
            t->by_status[-op->status]++;
    }
}

int rel_early_failures(rel_load *l, int64_t deadline_ms)
{
    int early = 0;
    for (int i = 0; i < l->n; i++) {
        const rel_op *op = &l->ops[i];
        if (op->submit_rc == 0 && __atomic_load_n(&op->calls, __ATOMIC_ACQUIRE) > 0 &&
            (op->status == KVW_ETIMEDOUT || op->status == KVW_ENOTCONN) &&
            op->done_ms - op->submit_ms < deadline_ms - REL_DEADLINE_SLACK_MS)
            early++;
    }
    return early;
}

void rel_print_early_failures(rel_load *l, int64_t deadline_ms, int max)
{
    for (int i = 0; i < l->n && max > 0; i++) {
        const rel_op *op = &l->ops[i];
        if (op->submit_rc == 0 && __atomic_load_n(&op->calls, __ATOMIC_ACQUIRE) > 0 &&
            (op->status == KVW_ETIMEDOUT || op->status == KVW_ENOTCONN) &&
            op->done_ms - op->submit_ms < deadline_ms - REL_DEADLINE_SLACK_MS) {
            print_message("  op %d: %s after %lld ms: %s\n", op->id, kvw_err_name(op->status),
                          (long long)(op->done_ms - op->submit_ms), op->message);
            max--;
        }
    }
}

void rel_tally_print(const char *what, const rel_tally *t)
{
    char buf[512];
    int off = 0;
    for (int c = 0; c < 32; c++)
        if (t->by_status[c])
            off += snprintf(buf + off, sizeof buf - (size_t)off, " %s=%d", kvw_err_name(-c),
                            t->by_status[c]);
    buf[off] = '\0';
    print_message("%s: submitted %d, accepted %d, refused %d, callbacks %ld (missing %d, "
                  "duplicated %d, unexpected %d); outcomes:%s\n",
                  what, t->submitted, t->accepted, t->refused, t->callbacks, t->missing,
                  t->duplicated, t->unexpected, buf);
}

void rel_assert_exactly_once(rel_load *l)
{
    rel_tally t;
    rel_tally_of(l, &t);
    int shown = 0;
    for (int i = 0; i < l->n && shown < 10; i++) {
        rel_op *op = &l->ops[i];
        int calls = __atomic_load_n(&op->calls, __ATOMIC_ACQUIRE);
        int want = op->submit_rc == 0 ? 1 : 0;
        if (op->submit_rc != REL_NOT_SUBMITTED && calls != want) {
            print_error("op %d: submit %s, %d callbacks (want %d)\n", i,
                        kvw_err_name(op->submit_rc), calls, want);
            shown++;
        }
    }
    assert_int_equal(t.missing, 0);
    assert_int_equal(t.duplicated, 0);
    assert_int_equal(t.unexpected, 0);
    assert_int_equal(t.bad_key, 0);
    assert_int_equal(__atomic_load_n(&l->dup_calls, __ATOMIC_RELAXED), 0);
    assert_int_equal(t.callbacks, t.accepted);
}

/* ------------------------------------------------------- verification */

typedef struct seen_rec {
    int count;
    uint64_t rev;
    int value_ok;
} seen_rec;

static int parse_id(const rel_load *l, const char *key)
{
    size_t pl = strlen(l->prefix);
    if (strncmp(key, l->prefix, pl) != 0 || key[pl] != '.')
        return -1;
    char *end = NULL;
    long id = strtol(key + pl + 1, &end, 10);
    if (!end || *end != '\0' || id < 0 || id >= l->n)
        return -1;
    return (int)id;
}

static int value_is(const rel_load *l, kvEntry *e, int id)
{
    char stack[REL_VALUE_MAX];
    size_t size;
    char *want = value_buf(l, stack, &size);
    size_t n = rel_value(l, id, want, size);
    int same = kvEntry_ValueLen(e) == (int)n && memcmp(kvEntry_Value(e), want, n) == 0;
    if (want != stack)
        free(want);
    return same;
}

static int reader_open(natsConnection **nc, jsCtx **js, const char *url)
{
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, url);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(o, false);
    if (s == NATS_OK)
        s = natsConnection_Connect(nc, o);
    natsOptions_Destroy(o);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    if (s == NATS_OK)
        s = natsConnection_JetStream(js, *nc, &jo);
    if (s != NATS_OK) {
        fprintf(stderr, "rel: connect %s: %s (%s)\n", url, natsStatus_GetText(s),
                nats_GetLastError(NULL));
        if (*nc) {
            natsConnection_Close(*nc);
            natsConnection_Destroy(*nc);
            *nc = NULL;
        }
        return -1;
    }
    return 0;
}

static void reader_close(natsConnection *nc, jsCtx *js)
{
    if (js)
        jsCtx_Destroy(js);
    if (nc) {
        natsConnection_Close(nc);
        natsConnection_Destroy(nc);
    }
}

static int verify_load(kvStore *kv, rel_load *l, seen_rec *seen, int revision_every,
                       rel_verify_stats *v)
{
    int ok_seen = 0;
    for (int i = 0; i < l->n; i++) {
        rel_op *op = &l->ops[i];
        seen_rec *sr = &seen[i];
        char key[64];
        rel_key(l, i, key, sizeof key);
        if (sr->count > 1 && v->duplicated++ < 5)
            print_error("%s stored %d times\n", key, sr->count);
        int calls = __atomic_load_n(&op->calls, __ATOMIC_ACQUIRE);
        int accepted = op->submit_rc == 0 && calls > 0;
        if (accepted && op->status == KVW_OK) {
            int lost_before = v->ok_lost;
            if (sr->count >= 1 && sr->rev == op->rev && sr->value_ok) {
                v->ok_verified++;
            } else if (v->ok_lost++ < 10) {
                print_error("%s reported OK at version %llu but the bucket holds %s "
                            "(revision %llu)\n",
                            key, (unsigned long long)op->rev,
                            sr->count ? "another record" : "nothing", (unsigned long long)sr->rev);
            }
            /* And once more with a plain point read at the reported version. */
            if (revision_every > 0 && ok_seen++ % revision_every == 0) {
                kvEntry *e = NULL;
                natsStatus gs = kvStore_GetRevision(&e, kv, key, op->rev);
                if (gs == NATS_OK && value_is(l, e, i) && kvEntry_Revision(e) == op->rev) {
                    v->ok_revision_read++;
                } else if (v->ok_lost++ < 10) {
                    print_error("kvStore_GetRevision(%s, %llu): %s\n", key,
                                (unsigned long long)op->rev, natsStatus_GetText(gs));
                }
                kvEntry_Destroy(e);
            }
            if (v->ok_lost > lost_before && v->lost_ops++ < REL_LOST_KEPT)
                v->lost_done_ms[v->lost_ops - 1] = op->done_ms;
        } else if ((accepted && kvw_err_outcome_unknown(op->status)) ||
                   (op->submit_rc < 0 && kvw_err_outcome_unknown(op->submit_rc))) {
            /* (A submit can also be refused with KVW_ETIMEDOUT: the connection's
             * write deadline expired while the op was being written.) */
            if (sr->count)
                v->unknown_present++;
            else
                v->unknown_absent++;
            /* Present or absent, never anything else: check with a plain get too. */
            kvEntry *e = NULL;
            natsStatus gs = kvStore_Get(&e, kv, key);
            if (gs == NATS_OK && !value_is(l, e, i) && v->corrupted++ < 5)
                print_error("%s (outcome unknown): kvStore_Get returns another value\n", key);
            if (gs == NATS_OK && !sr->count && v->stray++ < 5)
                print_error("%s: kvStore_Get finds a record the watch did not\n", key);
            kvEntry_Destroy(e);
            if (gs != NATS_OK && gs != NATS_NOT_FOUND) {
                fprintf(stderr, "rel: kvStore_Get(%s): %s\n", key, natsStatus_GetText(gs));
                return -1;
            }
        } else if (op->submit_rc != REL_NOT_SUBMITTED) {
            /* Refused at submit, or failed with a definite (not outcome-unknown) error. */
            if (!sr->count)
                v->failed_absent++;
            else if (v->failed_present++ < 10)
                print_error("%s: %s %s, yet stored at revision %llu\n", key,
                            op->submit_rc ? "refused with" : "failed with",
                            kvw_err_name(op->submit_rc ? op->submit_rc : op->status),
                            (unsigned long long)sr->rev);
        } else if (sr->count && v->stray++ < 5) {
            print_error("%s was never submitted, yet it is stored\n", key);
        }
    }
    return 0;
}

static int verify_once(const char *url, const char *bucket, rel_load *const *loads, int nloads,
                       int revision_every, rel_verify_stats *v)
{
    memset(v, 0, sizeof *v);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (reader_open(&nc, &js, url) != 0)
        return -1;
    int rc = -1;
    kvStore *kv = NULL;
    kvWatcher *w = NULL;
    seen_rec *seen[8] = {0};
    natsStatus s = nloads > 0 && nloads <= 8 ? NATS_OK : NATS_INVALID_ARG;
    for (int k = 0; k < nloads && s == NATS_OK; k++)
        if (!(seen[k] = calloc((size_t)loads[k]->n, sizeof *seen[k])))
            s = NATS_NO_MEMORY;
    if (s == NATS_OK)
        s = js_KeyValue(&kv, js, bucket);
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.IncludeHistory = true;
    if (s == NATS_OK)
        s = kvStore_WatchAll(&w, kv, &wo);
    const char *step = "kvStore_WatchAll";
    int64_t deadline = kt_now_ms() + 60000;
    /* Every record, history included; a NULL entry marks the end of what is stored. */
    while (s == NATS_OK) {
        kvEntry *e = NULL;
        step = "kvWatcher_Next";
        s = kvWatcher_Next(&e, w, 10000);
        if (s != NATS_OK || e == NULL)
            break;
        v->records++;
        int id = -1, k = 0;
        for (; k < nloads && id < 0; k++)
            id = parse_id(loads[k], kvEntry_Key(e));
        k--;
        if (id < 0 || kvEntry_Operation(e) != kvOp_Put) {
            if (v->stray++ < 5)
                print_error("stray record %s (op %d) at revision %llu\n", kvEntry_Key(e),
                            (int)kvEntry_Operation(e), (unsigned long long)kvEntry_Revision(e));
        } else {
            seen_rec *sr = &seen[k][id];
            sr->count++;
            sr->rev = kvEntry_Revision(e);
            sr->value_ok = value_is(loads[k], e, id);
            if (!sr->value_ok && v->corrupted++ < 5)
                print_error("%s: corrupted value at revision %llu (%d bytes)\n", kvEntry_Key(e),
                            (unsigned long long)sr->rev, kvEntry_ValueLen(e));
        }
        kvEntry_Destroy(e);
        if (kt_now_ms() > deadline) {
            s = NATS_TIMEOUT;
            break;
        }
    }
    if (s != NATS_OK) {
        fprintf(stderr, "rel: reading bucket %s through %s: %s after %ld records: %s (%s)\n",
                bucket, url, step, v->records, natsStatus_GetText(s), nats_GetLastError(NULL));
        goto out;
    }
    for (int k = 0; k < nloads; k++)
        if (verify_load(kv, loads[k], seen[k], revision_every, v) != 0)
            goto out;
    rc = 0;
out:
    kvWatcher_Destroy(w);
    kvStore_Destroy(kv);
    for (int k = 0; k < 8; k++)
        free(seen[k]);
    reader_close(nc, js);
    return rc;
}

int rel_verify(const char *url, const char *bucket, rel_load *const *loads, int nloads,
               int revision_every, rel_verify_stats *v)
{
    /* A read that fails (e.g. a consumer request timing out while a cluster
     * settles after a kill, or elects a new meta leader) says nothing about
     * kvw: read again, for up to about a minute. */
    for (int attempt = 1;; attempt++) {
        if (verify_once(url, bucket, loads, nloads, revision_every, v) == 0)
            return 0;
        if (attempt == 8)
            return -1;
        fprintf(stderr, "rel: reading again (attempt %d)\n", attempt + 1);
        kt_sleep_ms(2000);
    }
}

void rel_verify_print(const char *what, const rel_verify_stats *v)
{
    print_message("%s: %ld records read back; OK writes verified %d (also by kvStore_GetRevision: "
                  "%d), lost %d; outcome unknown: %d present, %d absent; failed/refused: %d "
                  "absent, %d present; corrupted %d, duplicated %d, stray %d\n",
                  what, v->records, v->ok_verified, v->ok_revision_read, v->ok_lost,
                  v->unknown_present, v->unknown_absent, v->failed_absent, v->failed_present,
                  v->corrupted, v->duplicated, v->stray);
}

void rel_assert_verified(const rel_verify_stats *v)
{
    assert_int_equal(v->ok_lost, 0);
    assert_int_equal(v->corrupted, 0);
    assert_int_equal(v->duplicated, 0);
    assert_int_equal(v->stray, 0);
    assert_int_equal(v->failed_present, 0);
}

/* ------------------------------------------------------------ cluster */

static int write_node_conf(rel_cluster *c, int i)
{
    char path[512];
    snprintf(path, sizeof path, "%s/node.conf", ts_server_dir(c->node[i]));
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "rel: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "server_name: \"%s\"\n", c->name[i]);
    fprintf(f, "cluster {\n  name: \"kvwrel\"\n  listen: \"127.0.0.1:%d\"\n  routes: [",
            c->route_port[i]);
    for (int j = 0, first = 1; j < REL_CLUSTER_NODES; j++) {
        if (j == i)
            continue;
        fprintf(f, "%s\"nats-route://127.0.0.1:%d\"", first ? "" : ", ", c->route_port[j]);
        first = 0;
    }
    fprintf(f, "]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int meta_leader_ready(const char *url)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (reader_open(&nc, &js, url) != 0)
        return 0;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    jsAccountInfo *ai = NULL;
    jsErrCode err = 0;
    natsStatus s = js_GetAccountInfo(&ai, js, &jo, &err);
    jsAccountInfo_Destroy(ai);
    reader_close(nc, js);
    return s == NATS_OK;
}

int rel_cluster_start(rel_cluster *c, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    static const char *const extra[] = {"-c", "%DIR%/node.conf", NULL};
    for (int i = 0; i < REL_CLUSTER_NODES; i++) {
        snprintf(c->name[i], sizeof c->name[i], "n%d", i + 1);
        c->route_port[i] = ts_free_port();
        for (int j = 0; j < i; j++)
            if (c->route_port[i] == c->route_port[j] || c->route_port[i] == 0)
                c->route_port[i] = ts_free_port();
        c->node[i] = ts_server_new(extra);
        if (!c->node[i] || c->route_port[i] <= 0)
            goto fail;
    }
    for (int i = 0; i < REL_CLUSTER_NODES; i++)
        if (write_node_conf(c, i) != 0)
            goto fail;
    for (int i = 0; i < REL_CLUSTER_NODES; i++)
        if (ts_server_start(c->node[i]) != 0)
            goto fail;
    c->urls[0] = '\0';
    for (int i = 0; i < REL_CLUSTER_NODES; i++) {
        size_t len = strlen(c->urls);
        snprintf(c->urls + len, sizeof c->urls - len, "%s%s", i ? "," : "",
                 ts_server_url(c->node[i]));
    }
    int64_t deadline = kt_now_ms() + timeout_ms;
    for (;;) {
        int ready = 1;
        for (int i = 0; i < REL_CLUSTER_NODES && ready; i++)
            ready = meta_leader_ready(ts_server_url(c->node[i]));
        if (ready)
            return 0;
        if (kt_now_ms() > deadline) {
            fprintf(stderr, "rel: the cluster has no JetStream meta leader after %d ms\n",
                    timeout_ms);
            goto fail;
        }
        kt_sleep_ms(100); /* polling other processes: nothing to wait on */
    }
fail:
    rel_cluster_free(c);
    return -1;
}

int rel_cluster_index(const rel_cluster *c, const char *name)
{
    for (int i = 0; i < REL_CLUSTER_NODES; i++)
        if (strcmp(c->name[i], name) == 0)
            return i;
    return -1;
}

/* The stream's info as node `via` sees it, if it names a leader; NULL
 * otherwise. Free with jsStreamInfo_Destroy. */
static jsStreamInfo *led_stream_info(rel_cluster *c, int via, const char *stream)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (!ts_server_running(c->node[via]) || reader_open(&nc, &js, ts_server_url(c->node[via])) != 0)
        return NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 2000;
    jsStreamInfo *si = NULL;
    jsErrCode err = 0;
    if (js_GetStreamInfo(&si, js, stream, &jo, &err) != NATS_OK || !si->Cluster || !si->Cluster->Leader ||
        !si->Cluster->Leader[0]) {
        jsStreamInfo_Destroy(si);
        si = NULL;
    }
    reader_close(nc, js);
    return si;
}

int rel_cluster_stream_current(rel_cluster *c, int via, const char *stream)
{
    jsStreamInfo *si = led_stream_info(c, via, stream);
    if (si == NULL)
        return -1;
    int n = 1;
    for (int i = 0; i < si->Cluster->ReplicasLen; i++)
        if (si->Cluster->Replicas[i] && si->Cluster->Replicas[i]->Current && !si->Cluster->Replicas[i]->Offline)
            n++;
    jsStreamInfo_Destroy(si);
    return n;
}

int rel_cluster_stream_leader(rel_cluster *c, int via, const char *stream, char *out, size_t size)
{
    jsStreamInfo *si = led_stream_info(c, via, stream);
    if (si == NULL)
        return -1;
    snprintf(out, size, "%s", si->Cluster->Leader);
    jsStreamInfo_Destroy(si);
    return 0;
}

void rel_cluster_free(rel_cluster *c)
{
    for (int i = 0; i < REL_CLUSTER_NODES; i++) {
        ts_server_free(c->node[i]);
        c->node[i] = NULL;
    }
}

/* ------------------------------------------------------------- gauges */

long rel_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int rel_fd_count(void)
{
    int n = count_entries("/proc/self/fd");
    return n > 0 ? n - 1 : n; /* minus the descriptor opendir used */
}

int rel_thread_count(void) { return count_entries("/proc/self/task"); }

int rel_env_seconds(const char *name, int def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    long s = strtol(v, &end, 10);
    return end && *end == '\0' && s > 0 && s < 7 * 24 * 3600 ? (int)s : def;
}
