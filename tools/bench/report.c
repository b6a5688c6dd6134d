/* kvw bench: the table and the JSON. */
#define _GNU_SOURCE

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const op_names[] = {"put", "create", "update", "delete", "delete_with_version", "get"};
const char *const kvstore_names[] = {"kvStore_Put", "kvStore_Create", "kvStore_Update",
                                            "kvStore_Delete", "kvStore_Update(empty)", "kvStore_Get"};

/* ------------------------------------------------------------ output */

static const char *delivery_name(int d)
{
    return d == KVW_DELIVERY_POLL ? "poll" : d == KVW_DELIVERY_LIBUV ? "libuv" : "thread";
}

static double us(double ns) { return ns / 1000.0; }

static double per_op(uint64_t v, const phase *ph) { return ph->nops ? (double)v / (double)ph->nops : 0; }

static void print_row(const phase *ph, const char *label)
{
    printf("%-36s %9" PRIu64 " %10.0f %10.1f %10.1f %10.1f %9.2f %9.2f %7.2f\n", label, ph->nops, ops_per_sec(ph),
           us(hist_quantile(&ph->h, 0.50)), us(hist_quantile(&ph->h, 0.99)), us(hist_quantile(&ph->h, 0.999)),
           us(per_op(ph->cpu.cpu_ns, ph)), us(per_op(ph->cpu.server_cpu_ns, ph)), per_op(ph->cpu.switches, ph));
}

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

static void print_json_phase(const char *name, const phase *ph)
{
    if (!ph) {
        printf(",\"%s_ops\":null,\"%s_ops_per_sec\":null,\"%s_p50_us\":null,\"%s_p99_us\":null", name, name, name,
               name);
        return;
    }
    printf(",\"%s_ops\":%" PRIu64 ",\"%s_ops_per_sec\":%.1f,\"%s_p50_us\":%.1f,\"%s_p99_us\":%.1f", name, ph->nops,
           name, ops_per_sec(ph), name, us(hist_quantile(&ph->h, 0.50)), name, us(hist_quantile(&ph->h, 0.99)));
    printf(",\"%s_cpu_us_per_op\":%.3f,\"%s_server_cpu_us_per_op\":%.3f,\"%s_switches_per_op\":%.3f", name,
           us(per_op(ph->cpu.cpu_ns, ph)), name, us(per_op(ph->cpu.server_cpu_ns, ph)), name,
           per_op(ph->cpu.switches, ph));
}

static double ratio(const phase *k, const phase *base)
{
    return base && ops_per_sec(base) > 0 ? ops_per_sec(k) / ops_per_sec(base) : 0;
}

static void print_ratio_json(const char *name, double v)
{
    if (v > 0)
        printf(",\"%s\":%.3f", name, v);
    else
        printf(",\"%s\":null", name);
}

/* raw: SendAsap connection (as kvw's); rawd: nats.c defaults. The ceiling
 * is the faster of the two. */
void report(const bench_state *st, const phase *k, const phase *raw, const phase *rawd, const phase *kvs)
{
    const bench_config *c = &st->cfg;
    const phase *ceil = raw;
    if (!ceil || (rawd && ops_per_sec(rawd) > ops_per_sec(raw)))
        ceil = rawd;
    double r_raw = ratio(k, ceil), r_kvs = ratio(k, kvs);
    double p50_kvs = kvs ? hist_quantile(&kvs->h, 0.5) : 0;
    double r_p50 = p50_kvs > 0 ? hist_quantile(&k->h, 0.5) / p50_kvs : 0;
    uint64_t slow = __atomic_load_n(&g_raw.slow_consumer, __ATOMIC_SEQ_CST);
    if (c->json) {
        printf("{\"op\":\"%s\",\"ops\":%" PRIu64 ",\"value_size\":%" PRIu32 ",\"keys\":%" PRIu32
               ",\"window\":%" PRIu32 ",\"delivery\":\"%s\",\"threads\":%d,\"storage\":\"%s\",\"rounds\":%d",
               op_names[c->op], k->nops, c->value_size, c->keys, c->window, delivery_name(c->delivery), c->threads,
               c->storage == KVW_STORAGE_MEMORY ? "memory" : "file", c->rounds);
        printf(",\"blocking\":%s,\"raw_msg_id\":%s,\"replicas\":%d,\"read\":\"%s\"", c->blocking ? "true" : "false",
               c->raw_msg_id ? "true" : "false", c->replicas,
               c->read_mode == KVW_READ_DIRECT ? "direct" : c->read_mode == KVW_READ_LEADER ? "leader" : "checked");
        printf(",\"ops_per_sec\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"elapsed_s\":%.3f",
               ops_per_sec(k), us(hist_quantile(&k->h, 0.5)), us(hist_quantile(&k->h, 0.99)),
               us(hist_quantile(&k->h, 0.999)), (double)k->elapsed_ns / 1e9);
        printf(",\"cpu_us_per_op\":%.3f,\"server_cpu_us_per_op\":%.3f,\"switches_per_op\":%.3f",
               us(per_op(k->cpu.cpu_ns, k)), us(per_op(k->cpu.server_cpu_ns, k)), per_op(k->cpu.switches, k));
        printf(",\"peak_rss_bytes\":%" PRIu64 ",\"rss_start_bytes\":%" PRIu64 ",\"rss_after_bytes\":%" PRIu64
               ",\"rss_after_close_bytes\":%" PRIu64 ",\"rss_after_trim_bytes\":%" PRIu64,
               st->peak_reset_ok ? st->rss_peak : 0, st->rss_start, st->rss_after, st->rss_after_close,
               st->rss_trimmed);
        if (c->settle)
            printf(",\"rss_settled_bytes\":%" PRIu64, st->rss_settled);
        printf(",\"heap_start_bytes\":%" PRIu64 ",\"heap_after_bytes\":%" PRIu64
               ",\"heap_after_close_bytes\":%" PRIu64,
               st->heap_start, st->heap_after, st->heap_after_close);
        print_ratio_json("ratio_vs_raw_async", r_raw);
        print_ratio_json("ratio_vs_kvstore_put", r_kvs);
        print_ratio_json("ratio_p50_vs_kvstore_put", r_p50);
        print_ratio_json("ratio_vs_raw_async_send_asap", ratio(k, raw));
        print_ratio_json("ratio_vs_raw_async_defaults", ratio(k, rawd));
        printf(",\"raw_async_ceiling\":%s", !ceil ? "null" : ceil == raw ? "\"send_asap\"" : "\"defaults\"");
        print_json_phase("raw_async", ceil);
        print_json_phase("raw_async_send_asap", raw);
        print_json_phase("raw_async_defaults", rawd);
        print_json_phase("kvstore", kvs);
        printf(",\"kvstore_call\":\"%s\"", kvstore_names[c->op]);
        printf(",\"conflicts\":%" PRIu64 ",\"exists\":%" PRIu64 ",\"not_found\":%" PRIu64 ",\"timeouts\":%" PRIu64
               ",\"errors\":%" PRIu64 ",\"busy_retries\":%" PRIu64 ",\"slow_consumer_events\":%" PRIu64 "}\n",
               k->conflicts, k->exists, k->notfound, k->timeouts, k->errors, k->busy, slow);
        return;
    }
    printf("kvw bench: %s, %" PRIu64 " ops, %" PRIu32 " B values, %" PRIu32 " keys, window %" PRIu32
           ", %s, %d thread%s, %s storage, R%d, %s reads, %d round%s\n",
           op_names[c->op], k->nops, c->value_size, c->keys, c->window,
           c->blocking ? "blocking calls" : c->delivery == KVW_DELIVERY_POLL    ? "delivery poll"
                                          : c->delivery == KVW_DELIVERY_LIBUV ? "delivery libuv"
                                                                              : "delivery thread",
           c->threads,
           c->threads == 1 ? "" : "s", c->storage == KVW_STORAGE_MEMORY ? "memory" : "file", c->replicas,
           c->read_mode == KVW_READ_DIRECT ? "direct" : c->read_mode == KVW_READ_LEADER ? "leader" : "checked",
           c->rounds, c->rounds == 1 ? "" : "s");
    printf("server: %s%s\n\n", c->server, st->own_server ? " (private, started by kvw bench)" : "");
    printf("%-36s %9s %10s %10s %10s %10s %9s %9s %7s\n", "", "ops", "ops/s", "p50 us", "p99 us", "p99.9 us",
           "cpu us/op", "srv us/op", "csw/op");
    const char *what = c->op == OP_GET      ? "raw async direct get"
                       : c->raw_msg_id       ? "raw js_PublishMsgAsync+id"
                                             : "raw js_PublishMsgAsync";
    char label[96], label_asap[96], label_def[96];
    snprintf(label, sizeof label, "kvw %s (%s)", op_names[c->op], c->blocking ? "blocking" : delivery_name(c->delivery));
    snprintf(label_asap, sizeof label_asap, "%s, SendAsap", what);
    snprintf(label_def, sizeof label_def, "%s, defaults", what);
    print_row(k, label);
    if (raw)
        print_row(raw, label_asap);
    if (rawd)
        print_row(rawd, label_def);
    if (kvs)
        print_row(kvs, kvstore_names[c->op]);
    printf("\n");
    if (raw)
        printf("ratio kvw / %s: %.3f (ops/s)%s\n", label_asap, ratio(k, raw), ceil == raw ? "  <- ceiling" : "");
    if (rawd)
        printf("ratio kvw / %s: %.3f (ops/s)%s\n", label_def, ratio(k, rawd), ceil == rawd ? "  <- ceiling" : "");
    if (kvs)
        printf("ratio kvw / %s loop: %.3f (ops/s); p50 latency %.3f\n", kvstore_names[c->op], r_kvs, r_p50);
    if (!ceil && !kvs)
        printf("ratios: none (--no-baselines)\n");
    printf("memory (kvw phase): RSS %.1f MiB at start, peak %.1f MiB (VmHWM%s), %.1f MiB after, "
           "%.1f MiB after close, %.1f MiB after malloc_trim",
           mib(st->rss_start), mib(st->rss_peak), st->peak_reset_ok ? "" : ", not reset: process peak",
           mib(st->rss_after), mib(st->rss_after_close), mib(st->rss_trimmed));
    if (c->settle)
        printf(", %.1f MiB settled", mib(st->rss_settled));
    printf("\n");
    printf("heap in use (malloc, kvw phase): %.1f MiB at start, %.1f MiB after, %.1f MiB after close\n",
           mib(st->heap_start), mib(st->heap_after), mib(st->heap_after_close));
    printf("kvw outcomes: %" PRIu64 " ok, %" PRIu64 " conflicts, %" PRIu64 " exists, %" PRIu64 " not found, %" PRIu64
           " timeouts, %" PRIu64 " errors; %" PRIu64 " EBUSY retries; %" PRIu64 " slow-consumer events\n",
           k->ok, k->conflicts, k->exists, k->notfound, k->timeouts, k->errors, k->busy, slow);
    if (k->first_error[0])
        printf("first kvw error: %s\n", k->first_error);
}

