/* kvw bench: the baselines on nats.c (raw publishes and direct gets, the
 * kvStore loop) and their connections. */
#define _GNU_SOURCE

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- raw nats.c */


raw_ctx g_raw;

static void raw_complete(phase *ph, uint32_t key, int status, uint64_t version, const char *text)
{
    uint64_t t = now_ns();
    worker *w = &ph->workers[(key - ph->key_base) % (uint64_t)ph->nthreads];
    uint32_t si = ph->chained ? key / (uint32_t)ph->nthreads : (uint32_t)(w->completed % w->window);
    slot *s = &w->slots[si];
    hist_add(&w->h, t - s->t_submit);
    if (status == KVW_OK) {
        w->ok++;
        if (ph->versions && !ph->chained && ph->op == OP_PUT)
            ph->versions[key] = version; /* setup */
        if (ph->chained)
            s->version = version;
    } else {
        count_failure(w, status, text);
    }
    completed_one(w, si);
}

void on_raw_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    raw_ctx *rc = closure;
    uint32_t key = trailing_index(natsMsg_GetSubject(msg));
    natsMsg_Destroy(msg);
    int status = KVW_OK;
    const char *text = NULL;
    if (pa == NULL) {
        text = pae && pae->ErrText ? pae->ErrText : "no ack";
        if (pae && pae->ErrCode == JSStreamWrongLastSequenceErr)
            status = KVW_ECONFLICT;
        else if (pae && pae->Err == NATS_TIMEOUT)
            status = KVW_ETIMEDOUT;
        else
            status = KVW_ESERVER;
    }
    if (rc->ph)
        raw_complete(rc->ph, key, status, pa ? pa->Sequence : 0, text);
}

static void on_raw_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    raw_ctx *rc = closure;
    uint32_t key = trailing_index(natsMsg_GetSubject(msg));
    const char *status = NULL;
    int st = KVW_OK;
    if (natsMsg_IsNoResponders(msg))
        st = KVW_ENOBUCKET;
    else if (natsMsgHeader_Get(msg, "Status", &status) == NATS_OK && status)
        st = strcmp(status, "404") == 0 ? KVW_ENOTFOUND : KVW_ESERVER;
    natsMsg_Destroy(msg);
    if (rc->ph)
        raw_complete(rc->ph, key, st, 0, status);
}

static void on_nats_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    (void)sub;
    raw_ctx *rc = closure;
    if (err == NATS_SLOW_CONSUMER)
        __atomic_add_fetch(&rc->slow_consumer, 1, __ATOMIC_SEQ_CST);
}

int raw_submit(phase *ph, slot *s)
{
    char subj[320], key[64];
    key_name(key, sizeof key, ph, s->key);
    snprintf(subj, sizeof subj, "$KV.%s.%s", ph->bucket, key);
    natsStatus st;
    if (ph->op == OP_GET) {
        char reply[160], direct[160], body[400];
        snprintf(reply, sizeof reply, "%s.%" PRIu32, ph->inbox, s->key);
        snprintf(direct, sizeof direct, "$JS.API.DIRECT.GET.KV_%s", ph->bucket);
        int n = snprintf(body, sizeof body, "{\"last_by_subj\":\"%s\"}", subj);
        st = natsConnection_PublishRequest(ph->nc, direct, reply, body, n);
        return st == NATS_OK ? 0 : KVW_ESERVER;
    }
    const int carries = ph->op == OP_PUT || ph->op == OP_CREATE || ph->op == OP_UPDATE;
    natsMsg *m = NULL;
    st = natsMsg_Create(&m, subj, NULL, carries ? ph->value : NULL, carries ? (int)ph->value_size : 0);
    if (st == NATS_OK && ph->op == OP_DELETE)
        st = natsMsgHeader_Set(m, "KV-Operation", "DEL");
    if (st != NATS_OK) {
        natsMsg_Destroy(m);
        return KVW_ENOMEM;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    /* As kvw: a lost ack must be reported. 0 leaves it unset (nats.c then
     * waits for ever and keeps nothing per publish). */
    if (ph->cfg->raw_maxwait_ms > 0)
        po.MaxWait = ph->cfg->raw_maxwait_ms;
    char id[40];
    if (ph->cfg->raw_msg_id) {  /* as long as kvw's (12 characters and a counter) */
        static uint64_t next;
        snprintf(id, sizeof id, "rawbench%04x%" PRIu64, (unsigned)getpid() & 0xffff,
                 __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED));
        po.MsgId = id;
    }
    if (ph->op == OP_CREATE)
        po.ExpectNoMessage = true;
    else if (ph->op == OP_UPDATE)
        po.ExpectLastSubjectSeq = s->version;
    else if (ph->op == OP_DWV)
        po.ExpectLastSubjectSeq = ph->versions[s->key];
    st = js_PublishMsgAsync(ph->js, &m, &po);
    if (st != NATS_OK) {
        natsMsg_Destroy(m);
        return KVW_ESERVER;
    }
    return 0;
}

/* ---- kvStore loop */

void *kvstore_main(void *arg)
{
    worker *w = arg;
    phase *ph = w->ph;
    char key[64];
    for (uint64_t i = 0; i < w->nops; i++) {
        uint32_t k = pick_key(w);
        key_name(key, sizeof key, ph, k);
        uint64_t rev = 0, t0 = now_ns();
        natsStatus st = NATS_OK;
        kvEntry *e = NULL;
        switch (ph->op) {
        case OP_PUT: st = kvStore_Put(&rev, ph->kv, key, ph->value, (int)ph->value_size); break;
        case OP_CREATE: st = kvStore_Create(&rev, ph->kv, key, ph->value, (int)ph->value_size); break;
        case OP_UPDATE:
            st = kvStore_Update(&rev, ph->kv, key, ph->value, (int)ph->value_size, ph->versions[k]);
            if (st == NATS_OK)
                ph->versions[k] = rev;
            break;
        case OP_DELETE: st = kvStore_Delete(ph->kv, key); break;
        case OP_DWV: st = kvStore_Update(&rev, ph->kv, key, ph->value, 0, ph->versions[k]); break;
        case OP_GET:
            st = kvStore_Get(&e, ph->kv, key);
            kvEntry_Destroy(e);
            break;
        }
        hist_add(&w->h, now_ns() - t0);
        if (st == NATS_OK)
            w->ok++;
        else
            count_failure(w, st == NATS_TIMEOUT ? KVW_ETIMEDOUT
                             : st == NATS_NOT_FOUND ? KVW_ENOTFOUND
                                                    : KVW_ESERVER,
                          nats_GetLastError(NULL));
    }
    __atomic_store_n(&w->completed, w->nops, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Async publishes of a raw phase go through a JetStream context of its own,
 * destroyed after the phase: nats.c 3.4.1 keeps a MaxWait entry per async
 * publish until its deadline (acked or not) and then runs a timeout through
 * the ack subscription, work that would otherwise land on the next phase. */
int raw_js_open(phase *ph)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = ph->cfg->timeout_ms;
    jo.PublishAsync.AckHandler = on_raw_ack;
    jo.PublishAsync.AckHandlerClosure = &g_raw;
    natsStatus s = natsConnection_JetStream(&ph->js, ph->nc, &jo);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: JetStream context: %s\n", natsStatus_GetText(s));
        ph->js = NULL;
        return -1;
    }
    return 0;
}

/* ---- nats.c connections for the baselines */

static int base_connect(bench_state *st, struct base_conn *bc, int asap)
{
    const bench_config *cfg = &st->cfg;
    natsStatus s = natsOptions_Create(&bc->opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(bc->opts, cfg->server);
    if (s == NATS_OK)
        s = natsOptions_SetName(bc->opts, asap ? "kvw-bench-raw-asap" : "kvw-bench-raw");
    if (s == NATS_OK && asap)
        s = natsOptions_SetSendAsap(bc->opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(bc->opts, on_nats_error, &g_raw);
    if (s == NATS_OK)
        s = natsConnection_Connect(&bc->nc, bc->opts);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: cannot connect to %s: %s\n", cfg->server, natsStatus_GetText(s));
        return -1;
    }
    natsInbox *inbox = NULL;
    s = natsInbox_Create(&inbox);
    if (s == NATS_OK) {
        snprintf(bc->inbox, sizeof bc->inbox, "%s", (const char *)inbox);
        natsInbox_Destroy(inbox);
        char sub[160];
        snprintf(sub, sizeof sub, "%s.*", bc->inbox);
        s = natsConnection_Subscribe(&bc->inbox_sub, bc->nc, sub, on_raw_reply, &g_raw);
    }
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(bc->inbox_sub, -1, -1);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: cannot subscribe: %s\n", natsStatus_GetText(s));
        return -1;
    }
    return 0;
}

int nats_setup(bench_state *st)
{
    const bench_config *cfg = &st->cfg;
    if (base_connect(st, &st->conn[0], 0) != 0)
        return -1;
    if (cfg->raw_send_asap != 0 && base_connect(st, &st->conn[1], 1) != 0)
        return -1;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = cfg->timeout_ms;
    natsStatus s = natsConnection_JetStream(&st->js, st->conn[0].nc, &jo); /* raw phases have their own */

    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = st->bucket;
    kc.History = 1;
    kc.Replicas = cfg->replicas;
    kc.StorageType = cfg->storage == KVW_STORAGE_MEMORY ? js_MemoryStorage : js_FileStorage;
    if (s == NATS_OK)
        s = js_CreateKeyValue(&st->kv, st->js, &kc);
    if (s != NATS_OK) {
        fprintf(stderr, "kvw: bench: cannot create bucket %s: %s\n", st->bucket, nats_GetLastError(NULL));
        return -1;
    }
    return 0;
}

void nats_teardown(bench_state *st)
{
    if (st->js && !st->own_server && st->kv)
        js_DeleteKeyValue(st->js, st->bucket);
    kvStore_Destroy(st->kv);
    jsCtx_Destroy(st->js);
    for (int i = 0; i < 2; i++) {
        struct base_conn *bc = &st->conn[i];
        natsSubscription_Destroy(bc->inbox_sub);
        if (bc->nc)
            natsConnection_Close(bc->nc);
        natsConnection_Destroy(bc->nc);
        natsOptions_Destroy(bc->opts);
    }
}

