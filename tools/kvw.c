/*
 * kvw — command-line tool for NATS JetStream Key-Value buckets, built on the
 * public kvw C API only (<kvw/kvw.h>).
 *
 * One process does one op: connect, open the bucket (created when missing),
 * make the op as a blocking call (kvw_waiter), print, exit. POLL delivery:
 * the outcome comes straight to the waiter, so no delivery thread is needed.
 *
 * Commands are table-driven (see `commands` below). A command with its own
 * argv runner parses its whole command line itself: `bench` hands it to the
 * kvw-bench program (tools/bench/), which links nats.c and libuv for its
 * baselines so that this tool does not.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kvw/kvw.h>


/* Exit codes (documented in --help). */
enum {
    EXIT_OK = 0,
    EXIT_OTHER = 1,
    EXIT_USAGE = 2,
    EXIT_CONFLICT = 3,
    EXIT_NOTFOUND = 4,
    EXIT_UNKNOWN = 5
};

#define DEFAULT_SERVER "nats://127.0.0.1:4222"

static const char usage_text[] =
    "usage: kvw [options] <command> [args]\n"
    "\n"
    "commands:\n"
    "  put KEY VALUE                      store VALUE under KEY\n"
    "  create KEY VALUE                   store only if KEY holds no live value\n"
    "  update KEY VALUE --expect VERSION  store only if KEY's latest version is VERSION\n"
    "  delete KEY [--expect VERSION]      write a delete marker; with --expect, a\n"
    "                                     CAS tombstone (empty value) instead\n"
    "  purge KEY                          write a purge marker, dropping KEY's history\n"
    "  get KEY                            print KEY's value\n"
    "  entry KEY                          print KEY's latest record: VERSION OP [VALUE]\n"
    "  get-many KEY...                    the latest record of each KEY, all as of one\n"
    "                                     point of the bucket's history (2.11+)\n"
    "  info                               print the server's version and what the\n"
    "                                     bucket supports (FEATURE yes | no: why)\n"
    "  enable-ttl [--marker-ttl DUR]      turn per-key TTL (and limit markers) on for\n"
    "                                     an existing bucket (nats-server 2.11+)\n"
    "  txn [LINE...]                      one transaction (nats-server 2.12+): the writes\n"
    "                                     given as arguments, else one per line on stdin:\n"
    "                                       put KEY VALUE | create KEY VALUE |\n"
    "                                       update KEY VERSION VALUE | delete KEY [VERSION]\n"
    "                                     (VALUE: the rest of the line; delete with VERSION\n"
    "                                     is a CAS tombstone); all are stored or none\n"
    "  load                               one write per line of stdin (put KEY VALUE |\n"
    "                                     delete KEY | purge KEY), streamed; as fast-ingest\n"
    "                                     batches where the server can (2.14+), else one\n"
    "                                     ack per write; prints how many were stored\n"
    "  bench [OP] [options]               benchmark against raw nats.c (kvw bench --help)\n"
    "\n";
/* Two strings: C99 promises only 4095 characters in one literal. */
static const char usage_text2[] =
    "options (before or after the command; `--` ends them):\n"
    "  --server URL      comma-separated NATS URLs [$NATS_URL, else " DEFAULT_SERVER "]\n"
    "  --bucket NAME     KV bucket, created when missing [$KVW_BUCKET]\n"
    "  --expect VERSION  expected latest version (update, delete)\n"
    "  --at-least VERSION get, entry: see at least this version of KEY (one a\n"
    "                    write printed elsewhere); asks the stream leader until\n"
    "                    --timeout when a replica is behind\n"
    "  --read MODE       checked: a read older than what this run has seen goes\n"
    "                    to the stream leader; direct: any replica answers;\n"
    "                    leader: always the stream leader [checked]\n"
    "  --timeout MS      deadline of the op in milliseconds [5000]\n"
    "  --resend-after MS a write whose ack has not come after MS is sent again\n"
    "                    with the same write id (Nats-Msg-Id: stored once) until\n"
    "                    --timeout; `never`: one send, no write id [1000]\n"
    "  --ttl DUR         put, create, update, delete, purge: the record expires\n"
    "                    after DUR; put/update/delete need a bucket with history 1\n"
    "                    (whole seconds: 30, 30s, 5m, 2h, 1d, or never; 2.11+)\n"
    "  --history N       revisions kept per key, when the bucket is created [1]\n"
    "  --replicas N      stream replicas (1..5), when the bucket is created [1]\n"
    "  --marker-ttl DUR  when the bucket is created (or with enable-ttl): keys that\n"
    "                    age out leave a PURGE marker that lives DUR\n"
    "                    (a bucket the tool creates with --ttl or --marker-ttl\n"
    "                    gets per-key TTL support)\n"
    "  --user NAME       user name\n"
    "  --password PASS   password [$KVW_PASSWORD; prefer the variable: argv is\n"
    "                    visible to other users]\n"
    "  --token TOKEN     authentication token [$KVW_TOKEN]\n"
    "  --creds FILE      NATS credentials file (JWT + nkey seed)\n"
    "  --tls-ca FILE     CA certificate to verify the server (enables TLS)\n"
    "  --version         print the tool's and library's versions\n"
    "  -h, --help        print this help\n"
    "\n"
    "output:\n"
    "  writes print the new version alone, e.g. `7`; txn prints each write's\n"
    "  version, one per line, in the order given.\n"
    "  get-many prints `as-of VERSION`, then `KEY VERSION OP [VALUE]` per key\n"
    "  (`KEY - NONE` for a key with no record).\n"
    "  get prints the value's raw bytes followed by one newline (always).\n"
    "  entry prints `VERSION OP VALUE`, e.g. `7 PUT hello`; without the value\n"
    "  when it is empty, e.g. `8 DEL`, or `9 PUT` for a delete --expect tombstone.\n"
    "\n"
    "exit status:\n"
    "  0 success\n"
    "  1 other error (connection, authentication, server...)\n"
    "  2 bad usage or input (bad key, bucket name, version, too big a value)\n"
    "  3 conflict: create found a live value, or the expected version is stale\n"
    "    (txn: nothing was stored; the message names the key)\n"
    "  4 get/entry found nothing\n"
    "  5 outcome unknown: the write may have landed (e.g. timed out); read back\n"
    "errors are reported on stderr as `kvw: OP: KVW_NAME: message`.\n";

/* ------------------------------------------------------------ options */

typedef struct cli_options {
    const char *server;
    const char *bucket;
    const char *expect;
    const char *at_least;
    const char *read;
    const char *timeout;
    const char *resend_after;
    const char *user;
    const char *password;
    const char *token;
    const char *creds;
    const char *tls_ca;
    const char *ttl;
    const char *history;
    const char *replicas;
    const char *marker_ttl;
    const char *positional[KVW_GET_MANY_MAX + 1]; /* get-many takes up to 1,024 keys */
    int npositional;
    int too_many_positional;
} cli_options;

typedef struct option_spec {
    const char *name;
    size_t field; /* offset of the const char * in cli_options */
} option_spec;

static const option_spec option_specs[] = {
    {"--server", offsetof(cli_options, server)},
    {"--bucket", offsetof(cli_options, bucket)},
    {"--expect", offsetof(cli_options, expect)},
    {"--at-least", offsetof(cli_options, at_least)},
    {"--read", offsetof(cli_options, read)},
    {"--timeout", offsetof(cli_options, timeout)},
    {"--resend-after", offsetof(cli_options, resend_after)},
    {"--user", offsetof(cli_options, user)},
    {"--password", offsetof(cli_options, password)},
    {"--token", offsetof(cli_options, token)},
    {"--creds", offsetof(cli_options, creds)},
    {"--tls-ca", offsetof(cli_options, tls_ca)},
    {"--ttl", offsetof(cli_options, ttl)},
    {"--history", offsetof(cli_options, history)},
    {"--replicas", offsetof(cli_options, replicas)},
    {"--marker-ttl", offsetof(cli_options, marker_ttl)},
};

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("kvw: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'kvw --help'.\n", stderr);
}

/* The error line: `kvw: <op>: KVW_NAME: message`. */
static void report(const char *op, int code, const char *message)
{
    fprintf(stderr, "kvw: %s: %s: %s\n", op, kvw_err_name(code),
            message && *message ? message : kvw_strerror(code));
}

static int exit_code_for(int code)
{
    switch (code) {
    case KVW_OK:
        return EXIT_OK;
    case KVW_EEXIST:
    case KVW_ECONFLICT:
        return EXIT_CONFLICT;
    case KVW_ENOTFOUND:
        return EXIT_NOTFOUND;
    case KVW_EBADKEY:
    case KVW_EBADNAME:
    case KVW_EBADVERSION:
    case KVW_ETOOBIG:
    case KVW_EBADTTL:
    case KVW_EINVAL:
        return EXIT_USAGE;
    default:
        return kvw_err_outcome_unknown(code) ? EXIT_UNKNOWN : EXIT_OTHER;
    }
}

/* Connecting or opening the bucket wrote no key: "outcome unknown" (5)
 * would mislead, whatever the code. */
static int setup_exit_code(int code)
{
    int exit_code = exit_code_for(code);
    return exit_code == EXIT_UNKNOWN ? EXIT_OTHER : exit_code;
}

/*
 * Options may come anywhere; only arguments starting with "--" (and "-h")
 * are options, so values such as "-5" need no quoting. "--name=value" is
 * accepted too. Returns -1 after a usage error, 1 for --help, 2 for
 * --version, 0 otherwise.
 */
static int parse_args(int argc, char **argv, cli_options *o)
{
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || strncmp(arg, "--", 2) != 0) {
            if (!only_positional && strcmp(arg, "-h") == 0)
                return 1;
            if (o->npositional < (int)(sizeof o->positional / sizeof o->positional[0]))
                o->positional[o->npositional++] = arg;
            else
                o->too_many_positional = 1;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0)
            return 1;
        if (strcmp(arg, "--version") == 0)
            return 2;

        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const option_spec *spec = NULL;
        for (size_t k = 0; k < sizeof option_specs / sizeof option_specs[0]; k++) {
            if (strlen(option_specs[k].name) == name_len &&
                strncmp(option_specs[k].name, arg, name_len) == 0) {
                spec = &option_specs[k];
                break;
            }
        }
        if (!spec) {
            usage_error("unknown option '%.*s'", (int)name_len, arg);
            return -1;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            usage_error("option '%s' needs a value", spec->name);
            return -1;
        }
        *(const char **)((char *)o + spec->field) = value;
    }
    return 0;
}

static int parse_timeout(const char *text, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > 86400000LL)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* A whole number in 1..max (--history, --replicas). */
static int parse_count(const char *text, long max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* A duration for --ttl / --marker-ttl: "never", or a number with an
 * optional unit ms, s (default), m, h, d. Whole seconds are the library's
 * rule (it refuses others with KVW_EBADTTL); this only reads the text. */
static int parse_duration(const char *text, int64_t *ms)
{
    if (strcmp(text, "never") == 0) {
        *ms = KVW_TTL_NEVER;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || v < 0 || text[0] == '-' || text[0] == '+')
        return -1;
    static const struct { const char *unit; long long ms; } units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].ms)
                return -1;
            *ms = (int64_t)(v * units[i].ms);
            return 0;
        }
    }
    return -1;
}

/*
 * Copies a comma-separated URL list with the secret of any user info (the
 * password of user:password@, or a lone token@) replaced by "***", so
 * error messages never show it.
 */
static void redact_urls(const char *urls, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    while (*urls && n + 1 < size) {
        size_t len = strcspn(urls, ",");
        const char *scheme = strstr(urls, "://");
        const char *host = scheme && scheme < urls + len ? scheme + 3 : urls;
        const char *at = NULL;
        for (const char *p = host; p < urls + len && *p != '/'; p++)
            if (*p == '@')
                at = p;
        int w;
        if (!at) {
            w = snprintf(buf + n, size - n, "%.*s", (int)len, urls);
        } else {
            const char *colon = host;
            while (colon < at && *colon != ':')
                colon++;
            size_t keep = (size_t)((colon < at ? colon + 1 : host) - urls);
            w = snprintf(buf + n, size - n, "%.*s***%.*s", (int)keep, urls,
                         (int)(urls + len - at), at);
        }
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
        urls += len;
        if (*urls == ',') {
            if (n + 1 < size) {
                buf[n++] = ',';
                buf[n] = '\0';
            }
            urls++;
        }
    }
}

/* ------------------------------------------------------------ one op */

/* What the op's outcome was, copied out of the waiter's kvw_result. */
typedef struct completion {
    int status;
    char *message;
    kvw_version version;
    kvw_entry_op entry_op;
    void *value;
    size_t value_len;
    int want_value; /* set before submitting: copy the value of a read */
    int copy_failed;
} completion;

static void on_complete(const kvw_result *r, completion *c)
{
    c->status = r->status;
    c->version = r->version;
    c->entry_op = r->entry_op;
    /* Only what will be printed is copied: the message of a failure, the
     * value of a successful read. */
    if (r->status != KVW_OK) {
        c->message = strdup(r->message ? r->message : "");
        c->copy_failed = c->message == NULL;
    } else if (c->want_value) {
        c->value_len = r->value_len;
        c->value = malloc(r->value_len ? r->value_len : 1);
        if (!c->value)
            c->copy_failed = 1;
        else if (r->value_len)
            memcpy(c->value, r->value, r->value_len);
    }
}

static int is_read(kvw_op op)
{
    return op == KVW_OP_GET || op == KVW_OP_GET_ENTRY;
}

typedef struct command command;

typedef struct context {
    const command *cmd;
    const cli_options *opts;
    kvw_client *client;
    kvw_bucket *bucket;
    int64_t op_timeout_ms;
    const char *key;
    const char *value;
    kvw_version expected;
    int has_expected;
    kvw_version at_least;
    int has_at_least;
    int64_t ttl_ms;        /* 0: no --ttl */
    int64_t marker_ttl_ms; /* 0: no --marker-ttl */
    /* txn: its writes, read and checked before connecting */
    char **lines;
    size_t *line_numbers;
    size_t nlines;
    const char *line_names; /* "argument" or "line" */
    int bulk;               /* load: through a bulk handle */
} context;

typedef int (*command_runner)(context *ctx);

struct command {
    const char *name;
    int nargs;          /* positional arguments after the command name */
    const char *args;   /* for messages */
    int expect;         /* 0: not allowed, 1: optional, 2: required */
    kvw_op op;
    command_runner run;
    /* Set for commands that parse their own options and connect themselves:
     * called with the whole command line instead of `run`. */
    int (*run_argv)(int argc, char **argv);
};

/* Submits the command's op as a blocking call on `w`. */
static int submit(context *ctx, kvw_waiter *w)
{
    kvw_bucket *b = ctx->bucket;
    const char *k = ctx->key;
    const char *v = ctx->value;
    size_t vlen = v ? strlen(v) : 0;
    if (ctx->ttl_ms != 0) {
        switch (ctx->cmd->op) {
        case KVW_OP_PUT: return kvw_put_ttl(b, k, v, vlen, ctx->ttl_ms, kvw_waiter_callback, w);
        case KVW_OP_CREATE: return kvw_create_ttl(b, k, v, vlen, ctx->ttl_ms, kvw_waiter_callback, w);
        case KVW_OP_UPDATE:
            return kvw_update_ttl(b, k, v, vlen, &ctx->expected, ctx->ttl_ms, kvw_waiter_callback, w);
        case KVW_OP_PURGE: return kvw_purge_ttl(b, k, ctx->ttl_ms, kvw_waiter_callback, w);
        case KVW_OP_DELETE: return kvw_delete_ttl(b, k, ctx->ttl_ms, kvw_waiter_callback, w);
        default: return KVW_EINTERNAL; /* refused before connecting */
        }
    }
    switch (ctx->cmd->op) {
    case KVW_OP_PUT:
        return kvw_put(b, k, v, vlen, kvw_waiter_callback, w);
    case KVW_OP_CREATE:
        return kvw_create(b, k, v, vlen, kvw_waiter_callback, w);
    case KVW_OP_UPDATE:
        return kvw_update(b, k, v, vlen, &ctx->expected, kvw_waiter_callback, w);
    case KVW_OP_DELETE:
    case KVW_OP_DELETE_WITH_VERSION:
        return ctx->has_expected
                   ? kvw_delete_with_version(b, k, &ctx->expected, kvw_waiter_callback, w)
                   : kvw_delete(b, k, kvw_waiter_callback, w);
    case KVW_OP_PURGE:
        return kvw_purge(b, k, kvw_waiter_callback, w);
    case KVW_OP_GET:
        return ctx->has_at_least ? kvw_get_at_least(b, k, &ctx->at_least, kvw_waiter_callback, w)
                                 : kvw_get(b, k, kvw_waiter_callback, w);
    case KVW_OP_GET_ENTRY:
        return ctx->has_at_least ? kvw_get_entry_at_least(b, k, &ctx->at_least, kvw_waiter_callback, w)
                                 : kvw_get_entry(b, k, kvw_waiter_callback, w);
    case KVW_OP_TXN:
    case KVW_OP_GET_MANY:
        break; /* run_txn, run_get_many */
    }
    return KVW_EINTERNAL;
}

static int print_version(const kvw_version *v)
{
    char buf[KVW_VERSION_STRLEN];
    if (kvw_version_format(v, buf, sizeof buf) < 0)
        return -1;
    return printf("%s\n", buf) < 0 ? -1 : 0;
}

static int print_result(const context *ctx, const completion *c)
{
    switch (ctx->cmd->op) {
    case KVW_OP_GET:
        if (c->value_len && fwrite(c->value, 1, c->value_len, stdout) != c->value_len)
            return -1;
        return putchar('\n') == EOF ? -1 : 0;
    case KVW_OP_GET_ENTRY: {
        char buf[KVW_VERSION_STRLEN];
        if (kvw_version_format(&c->version, buf, sizeof buf) < 0)
            return -1;
        if (printf("%s %s", buf, kvw_entry_op_name(c->entry_op)) < 0)
            return -1;
        if (c->value_len && (putchar(' ') == EOF ||
                             fwrite(c->value, 1, c->value_len, stdout) != c->value_len))
            return -1;
        return putchar('\n') == EOF ? -1 : 0;
    }
    default:
        return print_version(&c->version);
    }
}

/* How long to wait for a blocking call's outcome. The library guarantees it
 * by the op's deadline; this only guards against that promise being broken. */
static int watchdog_ms(const context *ctx)
{
    int64_t ms = 2 * ctx->op_timeout_ms + 5000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Runs one op as a blocking call (kvw_waiter). */
static int run_single_op(context *ctx)
{
    const char *name = ctx->cmd->name;
    completion c;
    memset(&c, 0, sizeof c);
    c.want_value = is_read(ctx->cmd->op);

    kvw_waiter *w = NULL;
    int rc = kvw_waiter_new(&w);
    if (rc == 0)
        rc = submit(ctx, w);
    if (rc == KVW_ENOTSUP) {
        int feature = ctx->cmd->op == KVW_OP_CREATE || ctx->cmd->op == KVW_OP_PURGE
                          ? KVW_FEATURE_TTL
                          : KVW_FEATURE_TTL_ON_WRITE;
        report(name, rc, kvw_bucket_feature_status(ctx->bucket, feature));
        kvw_waiter_free(w);
        return exit_code_for(rc);
    }
    if (rc != 0) {
        report(name, rc, NULL);
        kvw_waiter_free(w);
        return exit_code_for(rc);
    }

    /* The library guarantees the outcome by the op's deadline; the
     * watchdog only guards against that promise being broken. A write we
     * cannot see the end of may still have landed. */
    const kvw_result *r = NULL;
    if (kvw_waiter_wait(w, watchdog_ms(ctx), &r) != 1) {
        report(name, KVW_ETIMEDOUT, "no completion from the library");
        kvw_waiter_free(w);
        return is_read(ctx->cmd->op) ? EXIT_OTHER : EXIT_UNKNOWN;
    }
    on_complete(r, &c);
    kvw_waiter_free(w);

    int code;
    if (c.copy_failed) {
        report(name, KVW_ENOMEM, "cannot copy the result");
        code = EXIT_OTHER;
    } else if (c.status != KVW_OK) {
        report(name, c.status, c.message);
        code = exit_code_for(c.status);
    } else if (print_result(ctx, &c) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "kvw: %s: cannot write the result to stdout: %s\n", name,
                strerror(errno));
        code = EXIT_OTHER;
    } else {
        code = EXIT_OK;
    }
    free(c.message);
    free(c.value);
    return code;
}

static void format_server_version(int v, char *buf, size_t size)
{
    if (v > 0)
        snprintf(buf, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
    else
        snprintf(buf, size, "unknown (%s)", kvw_err_name(v));
}

/* `info`: the server and the bucket's features, one per line. */
static int run_info(context *ctx)
{
    char version[64];
    format_server_version(kvw_client_server_version(ctx->client), version, sizeof version);
    printf("server %s\n", version);
    printf("bucket %s\n", kvw_bucket_name(ctx->bucket));
    printf("max_value_size %lld\n", (long long)kvw_bucket_max_value_size(ctx->bucket));
    for (int f = KVW_FEATURE_TTL; f <= KVW_FEATURE_FAST_BATCH; f++) {
        if (kvw_bucket_supports(ctx->bucket, f) == 1)
            printf("%s yes\n", kvw_feature_name(f));
        else
            printf("%s no: %s\n", kvw_feature_name(f), kvw_bucket_feature_status(ctx->bucket, f));
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "kvw: info: cannot write to stdout: %s\n", strerror(errno));
        return EXIT_OTHER;
    }
    return EXIT_OK;
}

/* `enable-ttl`: allow_msg_ttl (and limit markers) on an existing bucket. */
static int run_enable_ttl(context *ctx)
{
    int rc = kvw_bucket_enable_ttl(ctx->bucket, ctx->marker_ttl_ms);
    if (rc == KVW_ENOTSUP) {
        report("enable-ttl", rc, kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_TTL));
        return EXIT_OTHER;
    }
    if (rc != 0) {
        report("enable-ttl", rc, NULL);
        return setup_exit_code(rc);
    }
    return run_info(ctx);
}

/* ------------------------------------------------------------ get-many */

static int print_entry_line(const kvw_result *e)
{
    char v[KVW_VERSION_STRLEN];
    if (e->status != KVW_OK)
        return printf("%s - NONE\n", e->key) < 0 ? -1 : 0;
    if (kvw_version_format(&e->version, v, sizeof v) < 0 ||
        printf("%s %s %s", e->key, v, kvw_entry_op_name(e->entry_op)) < 0)
        return -1;
    if (e->value_len && (putchar(' ') == EOF || fwrite(e->value, 1, e->value_len, stdout) != e->value_len))
        return -1;
    return putchar('\n') == EOF ? -1 : 0;
}

/* `get-many`: one multi-key read of the positional keys. */
static int run_get_many(context *ctx)
{
    const int n = ctx->opts->npositional - 1;
    const char *const *keys = ctx->opts->positional + 1;
    kvw_waiter *w = NULL;
    int rc = kvw_waiter_new(&w);
    if (rc == 0)
        rc = kvw_get_many(ctx->bucket, keys, (size_t)n, kvw_waiter_callback, w);
    if (rc != 0) {
        report("get-many", rc, rc == KVW_ENOTSUP ? kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_GET_MANY) : NULL);
        kvw_waiter_free(w);
        return exit_code_for(rc);
    }
    const kvw_result *r = NULL;
    if (kvw_waiter_wait(w, watchdog_ms(ctx), &r) != 1) {
        report("get-many", KVW_ETIMEDOUT, "no completion from the library");
        kvw_waiter_free(w);
        return EXIT_OTHER;
    }
    int code = 0;
    if (r->status != KVW_OK) {
        report("get-many", r->status, r->message);
        code = exit_code_for(r->status) == EXIT_UNKNOWN ? EXIT_OTHER : exit_code_for(r->status);
    } else {
        char v[KVW_VERSION_STRLEN];
        if (kvw_version_format(&r->version, v, sizeof v) < 0 || printf("as-of %s\n", v) < 0)
            code = EXIT_OTHER;
        for (size_t i = 0; i < r->entry_count && code == 0; i++)
            if (print_entry_line(&r->entries[i]) != 0)
                code = EXIT_OTHER;
        if (code == 0 && fflush(stdout) != 0)
            code = EXIT_OTHER;
        if (code != 0)
            fprintf(stderr, "kvw: get-many: cannot write the result to stdout: %s\n", strerror(errno));
    }
    kvw_waiter_free(w);
    return code;
}

/* ------------------------------------------------------------ txn */

/* Adds one line of `kvw txn` ("put KEY VALUE", "update KEY VERSION VALUE"...)
 * to `t`, or with `t` NULL only checks it. 0, or an exit code after
 * reporting what is wrong with it. */
static int txn_add_line(kvw_txn *t, const char *text, const char *where)
{
    char copy[8192];
    char *line = strlen(text) < sizeof copy ? strcpy(copy, text) : NULL;
    if (!line) {
        fprintf(stderr, "kvw: txn: %s: longer than %zu bytes\n", where, sizeof copy - 1);
        return EXIT_USAGE;
    }
    const char *line_end = line + strlen(line);
    char *op = strtok(line, " \t");
    char *key = op ? strtok(NULL, " \t") : NULL;
    if (!op || !key) {
        fprintf(stderr, "kvw: txn: %s: want OP KEY [VERSION] [VALUE]\n", where);
        return EXIT_USAGE;
    }
    int is_update = strcmp(op, "update") == 0, is_delete = strcmp(op, "delete") == 0;
    char *version_text = is_update || is_delete ? strtok(NULL, " \t") : NULL;
    /* The value: the rest of the line after one separator, as it is (it may
     * hold spaces); strtok ended the last token with a NUL unless it ran to
     * the end of the line. */
    const char *last = version_text ? version_text : key;
    const char *after = last + strlen(last);
    const char *rest = after < line_end ? after + 1 : "";
    kvw_version v = KVW_VERSION_UNKNOWN_INIT;
    if (version_text &&
        (kvw_version_parse(&v, version_text) != 0 || kvw_version_is_unknown(&v))) {
        fprintf(stderr, "kvw: txn: %s: '%s' is not a version as printed by a write, e.g. 7\n", where,
                version_text);
        return EXIT_USAGE;
    }
    int rc = kvw_key_check(key);
    if (rc != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s: %s", where, kvw_strerror(rc));
        report("txn", rc, msg);
        return EXIT_USAGE;
    }
    int known = strcmp(op, "put") == 0 || strcmp(op, "create") == 0 || is_update || is_delete;
    if (known && is_update && !version_text) {
        fprintf(stderr, "kvw: txn: %s: update needs KEY VERSION VALUE\n", where);
        return EXIT_USAGE;
    }
    if (known && is_delete && *rest) {
        fprintf(stderr, "kvw: txn: %s: delete takes KEY [VERSION], nothing after\n", where);
        return EXIT_USAGE;
    }
    if (!known) {
        fprintf(stderr, "kvw: txn: %s: unknown write '%s' (put, create, update, delete)\n", where, op);
        return EXIT_USAGE;
    }
    if (!t)
        return 0;
    if (strcmp(op, "put") == 0 || strcmp(op, "create") == 0) {
        rc = op[0] == 'p' ? kvw_txn_put(t, key, rest, strlen(rest)) : kvw_txn_create(t, key, rest, strlen(rest));
    } else if (is_update) {
        rc = kvw_txn_update(t, key, rest, strlen(rest), &v);
    } else {
        rc = version_text ? kvw_txn_delete_with_version(t, key, &v) : kvw_txn_delete(t, key);
    }
    if (rc == KVW_EINVAL) {
        fprintf(stderr, "kvw: txn: %s: KVW_EINVAL: %s writes '%s' again with an expected version, which the "
                        "server cannot check inside one transaction\n", where, op, key);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: %s", where,
                 rc == KVW_ETOOBIG ? "value too large, or more writes than one transaction may hold" : kvw_strerror(rc));
        report("txn", rc, msg);
        return exit_code_for(rc);
    }
    return 0;
}

static void free_txn_lines(context *ctx)
{
    for (size_t i = 0; i < ctx->nlines; i++)
        free(ctx->lines[i]);
    free(ctx->lines);
    free(ctx->line_numbers);
    ctx->lines = NULL;
    ctx->nlines = 0;
}

static int add_txn_line(context *ctx, const char *text, size_t number)
{
    char **lines = realloc(ctx->lines, (ctx->nlines + 1) * sizeof *lines);
    if (lines)
        ctx->lines = lines;
    size_t *numbers = realloc(ctx->line_numbers, (ctx->nlines + 1) * sizeof *numbers);
    if (numbers)
        ctx->line_numbers = numbers;
    char *copy = lines && numbers ? strdup(text) : NULL;
    if (!copy) {
        fprintf(stderr, "kvw: txn: out of memory\n");
        return EXIT_OTHER;
    }
    ctx->lines[ctx->nlines] = copy;
    ctx->line_numbers[ctx->nlines++] = number;
    return 0;
}

/* `txn`'s writes: its arguments, else the lines of stdin (blank lines and
 * #comments skipped), each checked, before connecting. */
static int read_txn_lines(context *ctx)
{
    int code = 0;
    char where[48];
    if (ctx->opts->npositional > 1) {
        ctx->line_names = "argument";
        for (int i = 1; i < ctx->opts->npositional && code == 0; i++) {
            snprintf(where, sizeof where, "argument %d", i);
            code = txn_add_line(NULL, ctx->opts->positional[i], where);
            if (code == 0)
                code = add_txn_line(ctx, ctx->opts->positional[i], (size_t)i);
        }
    } else {
        ctx->line_names = "line";
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        for (size_t no = 1; code == 0 && (n = getline(&line, &cap, stdin)) >= 0; no++) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            if (n == 0 || line[0] == '#')
                continue;
            snprintf(where, sizeof where, "line %zu", no);
            code = txn_add_line(NULL, line, where);
            if (code == 0)
                code = add_txn_line(ctx, line, no);
        }
        free(line);
    }
    if (code == 0 && ctx->nlines == 0) {
        fprintf(stderr, "kvw: txn: no writes given (arguments, or lines on stdin)\n");
        code = EXIT_USAGE;
    }
    return code;
}

/* `txn`: the writes from the arguments (one per argument) or stdin (one
 * per line), committed as one transaction; prints each write's version. */
static int run_txn(context *ctx)
{
    kvw_txn *t = NULL;
    int rc = kvw_txn_new(&t, ctx->bucket);
    if (rc == KVW_ENOTSUP) {
        report("txn", rc, kvw_bucket_feature_status(ctx->bucket, KVW_FEATURE_ATOMIC_BATCH));
        return EXIT_OTHER;
    }
    if (rc != 0) {
        report("txn", rc, NULL);
        return exit_code_for(rc);
    }
    int code = 0;
    char where[48];
    for (size_t i = 0; i < ctx->nlines && code == 0; i++) {
        snprintf(where, sizeof where, "%s %zu", ctx->line_names, ctx->line_numbers[i]);
        code = txn_add_line(t, ctx->lines[i], where);
    }
    if (code != 0) {
        kvw_txn_free(t);
        return code;
    }

    kvw_waiter *w = NULL;
    rc = kvw_waiter_new(&w);
    if (rc == 0)
        rc = kvw_txn_commit(t, kvw_waiter_callback, w);
    kvw_txn_free(t);
    if (rc != 0) {
        report("txn", rc, NULL);
        kvw_waiter_free(w);
        return exit_code_for(rc);
    }
    const kvw_result *r = NULL;
    if (kvw_waiter_wait(w, watchdog_ms(ctx), &r) != 1) {
        report("txn", KVW_ETIMEDOUT, "no completion from the library");
        kvw_waiter_free(w);
        return EXIT_UNKNOWN;
    }
    if (r->status != KVW_OK) {
        report("txn", r->status, r->message);
        code = exit_code_for(r->status);
    } else {
        for (size_t i = 0; i < r->txn_writes && code == 0; i++) {
            kvw_version v = kvw_txn_write_version(r, i);
            if (print_version(&v) != 0)
                code = EXIT_OTHER;
        }
        if (code == 0 && fflush(stdout) != 0)
            code = EXIT_OTHER;
        if (code != 0)
            fprintf(stderr, "kvw: txn: cannot write the result to stdout: %s\n", strerror(errno));
    }
    kvw_waiter_free(w);
    return code;
}

/* ------------------------------------------------------------ load */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* `load`'s outcomes, counted by its callbacks (POLL mode: on this thread). */
typedef struct load_tally {
    size_t pending, ok, failed, unknown;
    int first_code;
    char first_error[256];
} load_tally;

static void on_load_write(const kvw_result *r, void *user_data)
{
    load_tally *t = user_data;
    t->pending--;
    if (r->status == KVW_OK) {
        t->ok++;
        return;
    }
    if (kvw_err_outcome_unknown(r->status))
        t->unknown++;
    else
        t->failed++;
    if (t->first_code == 0) {
        t->first_code = r->status;
        snprintf(t->first_error, sizeof t->first_error, "%s (key %s)", r->message, r->key);
    }
}

/* Submits one line of `load` ("put KEY VALUE", "delete KEY", "purge KEY"),
 * waiting for completions while the in-flight window is full. 0, or an exit
 * code after reporting what is wrong with the line. */
static int load_line(context *ctx, load_tally *t, char *line, size_t no)
{
    const char *line_end = line + strlen(line);
    char *op = strtok(line, " \t");
    char *key = op ? strtok(NULL, " \t") : NULL;
    const char *after = key ? key + strlen(key) : line_end;
    const char *value = after < line_end ? after + 1 : "";
    int is_put = op && strcmp(op, "put") == 0;
    if (!key || (!is_put && strcmp(op, "delete") != 0 && strcmp(op, "purge") != 0) || (!is_put && *value)) {
        fprintf(stderr, "kvw: load: line %zu: want `put KEY VALUE`, `delete KEY` or `purge KEY`\n", no);
        return EXIT_USAGE;
    }
    int rc;
    for (;;) {
        rc = is_put    ? kvw_put(ctx->bucket, key, value, strlen(value), on_load_write, t)
             : op[0] == 'd' ? kvw_delete(ctx->bucket, key, on_load_write, t)
                        : kvw_purge(ctx->bucket, key, on_load_write, t);
        if (rc != KVW_EBUSY)
            break;
        kvw_client_poll(ctx->client, 100); /* completions make room */
    }
    if (rc != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "line %zu: %s", no, kvw_strerror(rc));
        report("load", rc, msg);
        return rc == KVW_EBADKEY || rc == KVW_ETOOBIG ? EXIT_USAGE : exit_code_for(rc);
    }
    t->pending++;
    kvw_client_poll(ctx->client, 0);
    return 0;
}

/* `load`: one write per line of stdin, streamed; through a bulk handle when
 * the bucket takes fast-ingest batches (see main), else one ack per write.
 * Prints a summary; a bad line stops the load after the writes before it. */
static int run_load(context *ctx)
{
    load_tally t;
    memset(&t, 0, sizeof t);
    char *line = NULL;
    size_t cap = 0, lines = 0;
    ssize_t n;
    int code = 0;
    for (size_t no = 1; code == 0 && (n = getline(&line, &cap, stdin)) >= 0; no++) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        code = load_line(ctx, &t, line, no);
        lines += code == 0;
    }
    free(line);
    int64_t deadline = now_ms() + watchdog_ms(ctx);
    while (t.pending > 0 && now_ms() < deadline)
        kvw_client_poll(ctx->client, 100);
    printf("loaded %zu writes (%s): %zu stored, %zu failed, %zu outcome unknown\n", lines,
           ctx->bulk ? "bulk: fast-ingest batches" : "one ack per write; the bucket takes no fast-ingest batches",
           t.ok, t.failed, t.unknown + t.pending);
    if (fflush(stdout) != 0 && code == 0)
        code = EXIT_OTHER;
    if (t.first_code != 0)
        report("load", t.first_code, t.first_error);
    if (code == 0 && t.failed > 0)
        code = exit_code_for(t.first_code);
    else if (code == 0 && (t.unknown > 0 || t.pending > 0))
        code = EXIT_UNKNOWN;
    return code;
}

/* `kvw bench`: runs kvw-bench with this argv; it sits next to this program in
 * the build tree, and in LIBEXECDIR/kvw/ once installed. */
static int run_bench(int argc, char **argv)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "kvw: bench: cannot find this program's directory: %s\n", strerror(errno));
        return EXIT_OTHER;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        slash[1] = '\0';
    const char *places[] = {"kvw-bench", "../" KVW_LIBEXEC_SUBDIR "/kvw/kvw-bench"};
    char path[sizeof self + 64];
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        snprintf(path, sizeof path, "%s%s", self, places[i]);
        if (access(path, X_OK) == 0) {
            argv[0] = path;
            execv(path, argv);
            fprintf(stderr, "kvw: bench: %s: %s\n", path, strerror(errno));
            return EXIT_OTHER;
        }
    }
    (void)argc;
    fprintf(stderr, "kvw: bench: kvw-bench not found next to %s or in ../" KVW_LIBEXEC_SUBDIR
                    "/kvw/ (build the kvw-bench target)\n", self);
    return EXIT_OTHER;
}

static const command commands[] = {
    {"put", 2, "KEY VALUE", 0, KVW_OP_PUT, run_single_op, NULL},
    {"create", 2, "KEY VALUE", 0, KVW_OP_CREATE, run_single_op, NULL},
    {"update", 2, "KEY VALUE --expect VERSION", 2, KVW_OP_UPDATE, run_single_op, NULL},
    {"delete", 1, "KEY [--expect VERSION]", 1, KVW_OP_DELETE, run_single_op, NULL},
    {"purge", 1, "KEY", 0, KVW_OP_PURGE, run_single_op, NULL},
    {"get", 1, "KEY", 0, KVW_OP_GET, run_single_op, NULL},
    {"entry", 1, "KEY", 0, KVW_OP_GET_ENTRY, run_single_op, NULL},
    {"info", 0, "", 0, KVW_OP_GET, run_info, NULL},
    {"txn", -1, "[LINE...]", 0, KVW_OP_TXN, run_txn, NULL},
    {"get-many", -1, "KEY...", 0, KVW_OP_GET_MANY, run_get_many, NULL},
    {"load", 0, "", 0, KVW_OP_PUT, run_load, NULL},
    {"enable-ttl", 0, "[--marker-ttl DUR]", 0, KVW_OP_GET, run_enable_ttl, NULL},
    {"bench", 0, "[OP] [options]", 0, KVW_OP_PUT, NULL, run_bench},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* ------------------------------------------------------------ main */

/* The command named on the command line, found before the options are
 * parsed (a command with its own argv runner has options of its own). */
static const command *first_command(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            return i + 1 < argc ? find_command(argv[i + 1]) : NULL;
        if (strncmp(arg, "--", 2) == 0) {
            if (strchr(arg, '='))
                continue;
            for (size_t k = 0; k < sizeof option_specs / sizeof option_specs[0]; k++)
                if (strcmp(option_specs[k].name, arg) == 0) {
                    i++; /* its value */
                    break;
                }
            continue;
        }
        if (strcmp(arg, "-h") == 0)
            continue;
        return find_command(arg);
    }
    return NULL;
}

static const char *env_or(const char *value, const char *env_name)
{
    if (value)
        return value;
    const char *e = getenv(env_name);
    return e && *e ? e : NULL;
}

int main(int argc, char **argv)
{
    const command *own = first_command(argc, argv);
    if (own && own->run_argv)
        return own->run_argv(argc, argv);

    cli_options o;
    memset(&o, 0, sizeof o);

    int parsed = parse_args(argc, argv, &o);
    if (parsed < 0)
        return EXIT_USAGE;
    if (parsed == 1) {
        fputs(usage_text, stdout);
        fputs(usage_text2, stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_OTHER;
    }
    if (parsed == 2) {
        printf("kvw %s (library %s)\n", KVW_VERSION_STRING, kvw_library_version_string());
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_OTHER;
    }

    if (KVW_CHECK_VERSION() != 0) {
        fprintf(stderr, "kvw: libkvw %s cannot serve a program built for %s\n",
                kvw_library_version_string(), KVW_VERSION_STRING);
        return EXIT_OTHER;
    }

    /* ---- the command and its arguments, checked before connecting */
    if (o.npositional == 0) {
        usage_error("no command given");
        return EXIT_USAGE;
    }
    context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.opts = &o;
    ctx.cmd = find_command(o.positional[0]);
    if (!ctx.cmd) {
        usage_error("unknown command '%s'", o.positional[0]);
        return EXIT_USAGE;
    }
    const char *name = ctx.cmd->name;
    if (o.too_many_positional || (ctx.cmd->nargs >= 0 && o.npositional - 1 != ctx.cmd->nargs)) {
        usage_error("usage: kvw %s %s", name, ctx.cmd->args);
        return EXIT_USAGE;
    }
    ctx.key = ctx.cmd->nargs >= 1 ? o.positional[1] : NULL;
    ctx.value = ctx.cmd->nargs >= 2 ? o.positional[2] : NULL;

    if (o.expect) {
        if (ctx.cmd->expect == 0) {
            usage_error("%s does not take --expect", name);
            return EXIT_USAGE;
        }
        int rc = kvw_version_parse(&ctx.expected, o.expect);
        if (rc == 0 && kvw_version_is_unknown(&ctx.expected))
            rc = KVW_EBADVERSION; /* "unknown" never matches a key's version */
        if (rc != 0) {
            report(name, rc, "--expect needs a version as printed by a write, e.g. 7");
            return EXIT_USAGE;
        }
        ctx.has_expected = 1; /* delete becomes kvw_delete_with_version */
    } else if (ctx.cmd->expect == 2) {
        usage_error("%s needs --expect VERSION", name);
        return EXIT_USAGE;
    }

    if (o.at_least) {
        if (ctx.cmd->run != run_single_op || !is_read(ctx.cmd->op)) {
            usage_error("%s does not take --at-least", name);
            return EXIT_USAGE;
        }
        int rc = kvw_version_parse(&ctx.at_least, o.at_least);
        if (rc == 0 && kvw_version_is_unknown(&ctx.at_least))
            rc = KVW_EBADVERSION;
        if (rc != 0) {
            report(name, rc, "--at-least needs a version as printed by a write, e.g. 7");
            return EXIT_USAGE;
        }
        ctx.has_at_least = 1;
    }
    kvw_read_mode read_mode = KVW_READ_CHECKED;
    if (o.read) {
        if (strcmp(o.read, "checked") == 0)
            read_mode = KVW_READ_CHECKED;
        else if (strcmp(o.read, "direct") == 0)
            read_mode = KVW_READ_DIRECT;
        else if (strcmp(o.read, "leader") == 0)
            read_mode = KVW_READ_LEADER;
        else {
            usage_error("--read needs checked, direct or leader, not '%s'", o.read);
            return EXIT_USAGE;
        }
    }

    int takes_ttl = ctx.cmd->run == run_single_op && !is_read(ctx.cmd->op);
    if (o.ttl) {
        if (!takes_ttl) {
            usage_error("%s does not take --ttl", name);
            return EXIT_USAGE;
        }
        if (ctx.has_expected && ctx.cmd->op == KVW_OP_DELETE) {
            usage_error("delete --expect does not take --ttl");
            return EXIT_USAGE;
        }
        if (parse_duration(o.ttl, &ctx.ttl_ms) != 0 || ctx.ttl_ms == 0) {
            usage_error("--ttl needs a duration such as 30s, 5m, 2h, 1d or never, not '%s'", o.ttl);
            return EXIT_USAGE;
        }
    }
    if (o.marker_ttl && (parse_duration(o.marker_ttl, &ctx.marker_ttl_ms) != 0 || ctx.marker_ttl_ms <= 0)) {
        usage_error("--marker-ttl needs a duration such as 30s, 5m or 1h, not '%s'", o.marker_ttl);
        return EXIT_USAGE;
    }
    int history = 1, replicas = 1;
    if (o.history && parse_count(o.history, 64, &history) != 0) {
        usage_error("--history needs a number from 1 to 64, not '%s'", o.history);
        return EXIT_USAGE;
    }
    if (o.replicas && parse_count(o.replicas, 5, &replicas) != 0) {
        usage_error("--replicas needs a number from 1 to 5, not '%s'", o.replicas);
        return EXIT_USAGE;
    }

    if (ctx.cmd->run == run_get_many) {
        if (o.npositional < 2) {
            usage_error("usage: kvw get-many KEY...");
            return EXIT_USAGE;
        }
        for (int i = 1; i < o.npositional; i++) {
            if (kvw_key_check(o.positional[i]) != 0) {
                report("get-many", KVW_EBADKEY, o.positional[i]);
                return EXIT_USAGE;
            }
        }
    }
    int rc = ctx.cmd->nargs <= 0 ? 0 : kvw_key_check(ctx.key);
    if (rc != 0) {
        report(name, rc, "keys are 1-1024 characters of [-/_=.a-zA-Z0-9], "
                         "with no leading or trailing '.' and no '..'");
        return EXIT_USAGE;
    }

    const char *bucket_name = env_or(o.bucket, "KVW_BUCKET");
    if (!bucket_name) {
        usage_error("no bucket: use --bucket NAME or set KVW_BUCKET");
        return EXIT_USAGE;
    }
    rc = kvw_bucket_name_check(bucket_name);
    if (rc != 0) {
        report("bucket", rc, "bucket names are [A-Za-z0-9_-]+");
        return EXIT_USAGE;
    }

    ctx.op_timeout_ms = 5000;
    if (o.timeout && parse_timeout(o.timeout, &ctx.op_timeout_ms) != 0) {
        usage_error("--timeout needs a positive number of milliseconds, not '%s'", o.timeout);
        return EXIT_USAGE;
    }

    int64_t resend_after_ms = 0; /* the library's default */
    if (o.resend_after) {
        if (strcmp(o.resend_after, "never") == 0) {
            resend_after_ms = KVW_RESEND_NEVER;
        } else if (parse_timeout(o.resend_after, &resend_after_ms) != 0) {
            usage_error("--resend-after needs a positive number of milliseconds or never, not '%s'",
                        o.resend_after);
            return EXIT_USAGE;
        }
    }

    /* txn's writes, last before connecting (nothing returns early after this
     * without freeing them) */
    if (ctx.cmd->run == run_txn) {
        int code = read_txn_lines(&ctx);
        if (code != 0) {
            free_txn_lines(&ctx);
            return code;
        }
    }

    /* ---- connect and open the bucket */
    kvw_client_options copts = KVW_CLIENT_OPTIONS_INIT;
    copts.servers = env_or(o.server, "NATS_URL");
    if (!copts.servers)
        copts.servers = DEFAULT_SERVER;
    copts.name = "kvw-cli";
    copts.user = o.user;
    copts.password = env_or(o.password, "KVW_PASSWORD");
    copts.token = env_or(o.token, "KVW_TOKEN");
    copts.credentials_file = o.creds;
    copts.tls_ca_file = o.tls_ca;
    copts.op_timeout_ms = ctx.op_timeout_ms;
    copts.resend_after_ms = resend_after_ms;
    copts.delivery = KVW_DELIVERY_POLL;

    rc = kvw_client_open(&ctx.client, &copts);
    if (rc != 0) {
        char where[512];
        redact_urls(copts.servers, where, sizeof where);
        char msg[640];
        snprintf(msg, sizeof msg, "%s (server %s)",
                 rc == KVW_ETIMEDOUT ? "timed out connecting" : kvw_strerror(rc), where);
        report("connect", rc, msg);
        free_txn_lines(&ctx);
        return setup_exit_code(rc);
    }

    kvw_bucket_options bopts = KVW_BUCKET_OPTIONS_INIT;
    /* Writes and reads create a missing bucket (txn: one that takes
     * transactions); info and enable-ttl do not. */
    bopts.create_if_missing = ctx.cmd->run == run_single_op || ctx.cmd->run == run_txn || ctx.cmd->run == run_get_many;
    bopts.allow_atomic = ctx.cmd->run == run_txn;
    bopts.history = history;
    bopts.replicas = replicas;
    bopts.read_mode = read_mode;
    bopts.allow_ttl = o.ttl != NULL || o.marker_ttl != NULL;
    bopts.limit_marker_ttl_ms = ctx.cmd->run == run_enable_ttl ? 0 : ctx.marker_ttl_ms;
    if (ctx.cmd->run == run_load) {
        /* A bulk handle where the server can (a bucket created here takes
         * fast-ingest batches); a bucket made without them gets plain writes. */
        bopts.create_if_missing = 1;
        bopts.allow_batched = bopts.bulk = ctx.bulk = kvw_client_server_version(ctx.client) >= 21400;
        rc = kvw_bucket_open(&ctx.bucket, ctx.client, bucket_name, &bopts);
        if (rc == KVW_ENOTSUP && ctx.bulk) {
            bopts.bulk = ctx.bulk = 0;
            rc = kvw_bucket_open(&ctx.bucket, ctx.client, bucket_name, &bopts);
        }
    } else {
        rc = kvw_bucket_open(&ctx.bucket, ctx.client, bucket_name, &bopts);
    }
    if (rc != 0) {
        report("bucket", rc,
               rc == KVW_ETIMEDOUT  ? "timed out opening the bucket"
               : rc == KVW_ENOTSUP && ctx.cmd->run == run_txn
                   ? "creating a bucket that takes transactions needs nats-server 2.12 or newer"
               : rc == KVW_ENOTSUP ? "creating a bucket with per-key TTL needs nats-server 2.11 or newer"
               : rc == KVW_EBADTTL ? "--marker-ttl must be whole seconds, at least 1s"
                                   : NULL);
        kvw_client_free(ctx.client);
        free_txn_lines(&ctx);
        return setup_exit_code(rc);
    }

    int code = ctx.cmd->run(&ctx);

    kvw_bucket_free(ctx.bucket);
    kvw_client_free(ctx.client);
    free_txn_lines(&ctx);
    return code;
}
