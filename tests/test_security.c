/*
 * Security suite: TLS, authentication (user/password, token, credentials
 * file), no secret in any message or output, and permission denials.
 *
 * The group setup makes everything at run time in a temporary directory:
 * a throw-away PKI (tests/security/mkcerts.sh, openssl), an operator /
 * account / user for operator mode (tests/security/mkcreds.py, Python with
 * `cryptography`), and the config file of each private nats-server:
 *
 *   tls       TLS required (server cert for 127.0.0.1/localhost)
 *   mtls      TLS required and verify: true (client certificate needed)
 *   users     user/password; "limited" may not publish to $KV.locked.> nor
 *             to the direct-get subject of KV_locked
 *   token     token authentication
 *   operator  operator mode, resolver MEMORY, the account preloaded
 *
 * The secrets below (and the nkey seeds) must never show up in what the
 * library returns, what the process prints, or the kvw CLI's output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>

#include <kvw/kvw.h>

#include "support/kvwtest.h"
#include "support/natsserver.h"

#define PASSWORD "pw-SECRET-d41c9e0b"
#define WRONG_PASSWORD "pw-WRONG-3b1d77c2"
#define TOKEN "tok-SECRET-77ab0f19"
#define WRONG_TOKEN "tok-WRONG-5e02a8d4"

static char g_dir[PATH_MAX];  /* certificates, creds, configs, captures */
static ts_server *g_tls, *g_mtls, *g_users, *g_token, *g_operator;
/* Everything that must never be printed: the passwords and tokens above
 * plus the nkey seeds of the three credentials files. */
static char g_seeds[3][128];
static const char *g_secrets[8];
static int g_nsecrets;

/* ------------------------------------------------------------ helpers */

static const char *path_in(const char *name)
{
    static char buf[8][PATH_MAX + 64];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%.60s", g_dir, name);
    return p;
}

static int write_file(const char *name, const char *fmt, ...)
{
    FILE *f = fopen(path_in(name), "w");
    if (!f)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    return fclose(f);
}

static char *read_all(FILE *f)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* The seed line of a .creds file. */
static int seed_of(const char *creds, char *out, size_t size)
{
    FILE *f = fopen(path_in(creds), "r");
    if (!f)
        return -1;
    char line[128];
    int next_is_seed = 0, rc = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (next_is_seed) {
            snprintf(out, size, "%.120s", line);
            rc = strlen(out) > 50 && out[0] == 'S' ? 0 : -1;
            break;
        }
        next_is_seed = strstr(line, "BEGIN USER NKEY SEED") != NULL;
    }
    fclose(f);
    return rc;
}

/* Fails the test if `text` contains any secret. */
static void assert_no_secret_(const char *text, const char *what, const char *file, int line)
{
    for (int i = 0; i < g_nsecrets; i++) {
        if (text && strstr(text, g_secrets[i])) {
            print_error("%s shows a secret (%.12s...):\n%s\n", what, g_secrets[i], text);
            _fail(file, line);
        }
    }
}
#define assert_no_secret(text, what) assert_no_secret_(text, what, __FILE__, __LINE__)

/* Everything the process writes to stdout and stderr (any thread) between
 * capture_begin() and capture_end() goes to a file; no cmocka assert in
 * between, or its output would be captured too. */
typedef struct capture {
    int saved_out, saved_err;
    char path[PATH_MAX];
} capture;

static void capture_begin(capture *c)
{
    fflush(stdout);
    fflush(stderr);
    snprintf(c->path, sizeof c->path, "%s", path_in("capture.txt"));
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    c->saved_out = dup(1);
    c->saved_err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(capture *c)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_out, 1);
    dup2(c->saved_err, 2);
    close(c->saved_out);
    close(c->saved_err);
    FILE *f = fopen(c->path, "r");
    char *text = f ? read_all(f) : NULL;
    if (f)
        fclose(f);
    unlink(c->path);
    return text;
}

static void options_for(kvw_client_options *o, const ts_server *s)
{
    kvw_client_options_init(o);
    o->servers = ts_server_url(s);
    o->name = "kvw-security-tests";
    o->connect_timeout_ms = 3000;
    o->op_timeout_ms = 5000;
    o->max_reconnect = KVW_NO_RECONNECT;
}

/* kvw_client_open that must fail: returns the code. Whatever the process
 * printed meanwhile, and nats.c's last error text on this thread (which kvw
 * may put in messages), must not contain a secret. */
static int open_must_fail(const kvw_client_options *o, const char *what)
{
    capture cap;
    kvw_client *c = (kvw_client *)(uintptr_t)1;
    capture_begin(&cap);
    int rc = kvw_client_open(&c, o);
    char *printed = capture_end(&cap);
    natsStatus last = NATS_OK;
    const char *nats_text = nats_GetLastError(&last);
    print_message("%s: %s\n", what, kvw_err_name(rc));
    assert_no_secret(printed, "output during a failed kvw_client_open");
    assert_no_secret(nats_text, "nats.c's last error text");
    assert_no_secret(kvw_strerror(rc), "kvw_strerror");
    free(printed);
    assert_null(c); /* out-parameter reset on failure */
    assert_int_not_equal(rc, KVW_OK);
    return rc;
}

/* Opens a client and a bucket with `o`, puts "k"="v" and reads it back. */
static void put_get_works(const kvw_client_options *o, const char *bucket_prefix)
{
    kt_ctx *ctx = kt_ctx_new(NULL);
    assert_non_null(ctx);
    kt_open(ctx, o, bucket_prefix, NULL);
    kt_rec *w = kt_put_s(ctx, ctx->bucket, "k", "secure-value");
    kt_assert_status(w, KVW_OK);
    kt_rec *r = kt_get(ctx, ctx->bucket, "k");
    kt_assert_status(r, KVW_OK);
    assert_int_equal(r->value_len, strlen("secure-value"));
    assert_memory_equal(r->value, "secure-value", r->value_len);
    assert_no_secret(w->message, "a put's result message");
    assert_no_secret(r->message, "a get's result message");
    kt_ctx_free(ctx);
}

static ts_server *spawn_with_config(const char *conf_name)
{
    const char *args[] = {"-c", path_in(conf_name), NULL};
    ts_server *s = ts_server_spawn(args);
    if (!s)
        fprintf(stderr, "security: nats-server with %s did not start\n", conf_name);
    return s;
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "security: `%s` failed (%d)\n", cmd, rc);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- setup */

static int group_teardown(void **state);

static int setup_all(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/kvw-security-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%s/mkcerts.sh' '%s'", KVW_SECURITY_SCRIPTS, g_dir);
    if (run(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' '%s/mkcreds.py' '%s'", KVW_PYTHON, KVW_SECURITY_SCRIPTS, g_dir);
    if (run(cmd) != 0)
        return -1;
    if (seed_of("user.creds", g_seeds[0], sizeof g_seeds[0]) != 0 ||
        seed_of("wrongseed.creds", g_seeds[1], sizeof g_seeds[1]) != 0 ||
        seed_of("rogue.creds", g_seeds[2], sizeof g_seeds[2]) != 0)
        return -1;
    const char *secrets[] = {PASSWORD, WRONG_PASSWORD, TOKEN, WRONG_TOKEN,
                             g_seeds[0], g_seeds[1], g_seeds[2]};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        g_secrets[g_nsecrets++] = secrets[i];

    const char *tls_block = "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n  timeout: 5\n}\n";
    if (write_file("tls.conf", tls_block, path_in("server.pem"), path_in("server-key.pem")) != 0 ||
        write_file("mtls.conf",
                   "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n  ca_file: \"%s\"\n"
                   "  verify: true\n  timeout: 5\n}\n",
                   path_in("server.pem"), path_in("server-key.pem"), path_in("ca.pem")) != 0 ||
        write_file("users.conf",
                   "authorization {\n  users = [\n"
                   "    {user: alice, password: \"%s\"}\n"
                   "    {user: limited, password: \"%s\", permissions: {\n"
                   "      publish: {deny: [\"$KV.locked.>\", \"$JS.API.DIRECT.GET.KV_locked\",\n"
                   "                       \"$JS.API.STREAM.MSG.GET.KV_directonly\"]}\n"
                   "    }}\n  ]\n}\n",
                   PASSWORD, PASSWORD) != 0 ||
        write_file("token.conf", "authorization {\n  token: \"%s\"\n}\n", TOKEN) != 0)
        return -1;

    g_tls = spawn_with_config("tls.conf");
    g_mtls = spawn_with_config("mtls.conf");
    g_users = spawn_with_config("users.conf");
    g_token = spawn_with_config("token.conf");
    g_operator = spawn_with_config("operator.conf");
    return g_tls && g_mtls && g_users && g_token && g_operator ? 0 : -1;
}

static int group_setup(void **state)
{
    if (setup_all() == 0)
        return 0;
    group_teardown(state); /* cmocka does not call it when the setup fails */
    return -1;
}

static int rm_tree(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static int group_teardown(void **state)
{
    (void)state;
    ts_server_free(g_tls);
    ts_server_free(g_mtls);
    ts_server_free(g_users);
    ts_server_free(g_token);
    ts_server_free(g_operator);
    g_tls = g_mtls = g_users = g_token = g_operator = NULL;
    if (g_dir[0])
        rm_tree(g_dir);
    g_dir[0] = '\0';
    nats_Close();
    return 0;
}

/* --------------------------------------------------------------- TLS */

static void test_tls_verified_put_get(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_tls);
    o.tls_ca_file = path_in("ca.pem");
    put_get_works(&o, "tls");
}

static void test_tls_wrong_ca_refused(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_tls);
    o.tls_ca_file = path_in("other-ca.pem");
    assert_int_equal(open_must_fail(&o, "TLS server, unrelated CA"), KVW_ETLS);
}

static void test_tls_plaintext_refused(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_tls);
    assert_int_equal(open_must_fail(&o, "TLS-only server, plaintext client"), KVW_ETLS);
}

static void test_tls_missing_ca_file(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_tls);
    o.tls_ca_file = path_in("no-such-ca.pem");
    assert_int_equal(open_must_fail(&o, "CA file missing"), KVW_ETLS);
}

static void test_mtls_client_certificate(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_mtls);
    o.tls_ca_file = path_in("ca.pem");
    o.tls_cert_file = path_in("client.pem");
    o.tls_key_file = path_in("client-key.pem");
    put_get_works(&o, "mtls");

    /* Without a client certificate the server ends the handshake. */
    options_for(&o, g_mtls);
    o.tls_ca_file = path_in("ca.pem");
    assert_int_equal(open_must_fail(&o, "verify: true, no client certificate"), KVW_ETLS);
    /* A client certificate from another CA is refused the same way. */
    o.tls_cert_file = path_in("other-ca.pem");
    o.tls_key_file = path_in("other-ca-key.pem");
    assert_int_equal(open_must_fail(&o, "verify: true, certificate of an unknown CA"), KVW_ETLS);
}

/* ---------------------------------------------------- authentication */

static void test_user_password(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_users);
    o.user = "alice";
    o.password = PASSWORD;
    put_get_works(&o, "userpw");

    o.password = WRONG_PASSWORD;
    assert_int_equal(open_must_fail(&o, "wrong password"), KVW_EAUTH);
    o.user = "mallory";
    o.password = PASSWORD;
    assert_int_equal(open_must_fail(&o, "unknown user"), KVW_EAUTH);
    options_for(&o, g_users);
    assert_int_equal(open_must_fail(&o, "no credentials"), KVW_EAUTH);
}

static void test_token(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_token);
    o.token = TOKEN;
    put_get_works(&o, "token");

    o.token = WRONG_TOKEN;
    assert_int_equal(open_must_fail(&o, "wrong token"), KVW_EAUTH);
    options_for(&o, g_token);
    assert_int_equal(open_must_fail(&o, "no token"), KVW_EAUTH);
}

static void test_credentials_file(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_operator);
    o.credentials_file = path_in("user.creds");
    put_get_works(&o, "creds");

    o.credentials_file = path_in("rogue.creds");
    assert_int_equal(open_must_fail(&o, "user of an account the server does not trust"), KVW_EAUTH);
    o.credentials_file = path_in("wrongseed.creds");
    assert_int_equal(open_must_fail(&o, "right JWT, another user's seed"), KVW_EAUTH);
    options_for(&o, g_operator);
    assert_int_equal(open_must_fail(&o, "no credentials"), KVW_EAUTH);
}

static void test_credentials_file_missing(void **state)
{
    (void)state;
    kvw_client_options o;
    options_for(&o, g_operator);
    o.credentials_file = path_in("no-such.creds");
    assert_int_equal(open_must_fail(&o, "credentials file missing"), KVW_EAUTH);
    assert_int_equal(write_file("garbage.creds", "not a credentials file\n"), 0);
    o.credentials_file = path_in("garbage.creds");
    assert_int_equal(open_must_fail(&o, "credentials file without JWT or seed"), KVW_EAUTH);
}

/* ------------------------------------------------------- permissions */

/* Submits `op` on the limited user's bucket and checks it fails with
 * KVW_EPERM well before the op timeout (the server's -ERR, not a timeout). */
static void expect_eperm(kt_ctx *ctx, kvw_bucket *b, int op)
{
    kt_rec *r = kt_rec_new(ctx);
    int64_t t0 = kt_now_ms();
    int rc;
    switch (op) {
    case KVW_OP_PUT: rc = kvw_put(b, "k", "x", 1, kt_rec_cb, r); break;
    case KVW_OP_CREATE: rc = kvw_create(b, "new", "x", 1, kt_rec_cb, r); break;
    case KVW_OP_DELETE: rc = kvw_delete(b, "k", kt_rec_cb, r); break;
    case KVW_OP_GET: rc = kvw_get(b, "k", kt_rec_cb, r); break;
    default: rc = kvw_get_entry(b, "k", kt_rec_cb, r); break;
    }
    assert_int_equal(rc, KVW_OK);
    assert_int_equal(kt_rec_wait(r), 0);
    int64_t took = kt_now_ms() - t0;
    print_message("%s denied: %s in %lld ms: %s\n", kvw_op_name(op), r->status_name, (long long)took,
                  r->message ? r->message : "");
    kt_assert_status(r, KVW_EPERM);
    assert_true(took < 2500); /* op_timeout_ms is 5000 */
    assert_no_secret(r->message, "a permission-denied result message");
}

static void test_permission_denied_is_eperm(void **state)
{
    (void)state;
    kvw_client_options o;
    kvw_bucket_options bo;
    kvw_bucket_options_init(&bo);
    bo.create_if_missing = 1;

    /* alice may do anything: she creates both buckets and writes k. */
    kt_ctx *admin = kt_ctx_new(NULL);
    options_for(&o, g_users);
    o.user = "alice";
    o.password = PASSWORD;
    assert_int_equal(kvw_client_open(&admin->client, &o), KVW_OK);
    assert_int_equal(kvw_bucket_open(&admin->bucket, admin->client, "locked", &bo), KVW_OK);
    kt_assert_status(kt_put_s(admin, admin->bucket, "k", "v"), KVW_OK);
    kvw_bucket *open_b = NULL;
    assert_int_equal(kvw_bucket_open(&open_b, admin->client, "open", &bo), KVW_OK);
    kvw_bucket_free(open_b);

    kt_ctx *ctx = kt_ctx_new(NULL);
    o.user = "limited";
    assert_int_equal(kvw_client_open(&ctx->client, &o), KVW_OK);
    assert_int_equal(kvw_bucket_open(&ctx->bucket, ctx->client, "locked", NULL), KVW_OK);
    expect_eperm(ctx, ctx->bucket, KVW_OP_PUT);
    expect_eperm(ctx, ctx->bucket, KVW_OP_CREATE);
    expect_eperm(ctx, ctx->bucket, KVW_OP_DELETE);
    expect_eperm(ctx, ctx->bucket, KVW_OP_GET);
    expect_eperm(ctx, ctx->bucket, KVW_OP_GET_ENTRY);

    /* The same user may write and read a bucket the rules do not cover,
     * on the same connection, after the denials. */
    kvw_bucket *ok_b = NULL;
    assert_int_equal(kvw_bucket_open(&ok_b, ctx->client, "open", NULL), KVW_OK);
    kt_assert_status(kt_put_s(ctx, ok_b, "k", "fine"), KVW_OK);
    kt_assert_status(kt_get(ctx, ok_b, "k"), KVW_OK);
    kvw_bucket_free(ok_b);
    /* And the locked key is untouched. */
    kt_rec *g = kt_get(admin, admin->bucket, "k");
    kt_assert_status(g, KVW_OK);
    assert_memory_equal(g->value, "v", 1);

    /* Reads through the stream leader need $JS.API.STREAM.MSG.GET: denied,
     * they end KVW_EPERM at once too; direct gets still work. */
    kvw_bucket *direct_b = NULL;
    assert_int_equal(kvw_bucket_open(&direct_b, admin->client, "directonly", &bo), KVW_OK);
    kt_assert_status(kt_put_s(admin, direct_b, "k", "v"), KVW_OK);
    kvw_bucket_free(direct_b);
    kvw_bucket_options leader;
    kvw_bucket_options_init(&leader);
    leader.read_mode = KVW_READ_LEADER;
    assert_int_equal(kvw_bucket_open(&direct_b, ctx->client, "directonly", &leader), KVW_OK);
    expect_eperm(ctx, direct_b, KVW_OP_GET);
    kvw_bucket_free(direct_b);
    assert_int_equal(kvw_bucket_open(&direct_b, ctx->client, "directonly", NULL), KVW_OK);
    kt_assert_status(kt_get(ctx, direct_b, "k"), KVW_OK);
    kvw_bucket_free(direct_b);
    kt_ctx_free(ctx);
    kt_ctx_free(admin);
}

/* --------------------------------------------------------------- CLI */

/* Runs the kvw CLI with `args` (a shell fragment) and `env` in front; returns
 * its exit status and its stdout+stderr in *out (malloc'd). */
static int cli(const char *env, const char *args, char **out)
{
    const char *bin = getenv("KVW_CLI");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s' %s 2>&1", env ? env : "", bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    *out = read_all(p);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void cli_must_fail(const char *env, const char *args, const char *want)
{
    char *out = NULL;
    int rc = cli(env, args, &out);
    print_message("kvw %s -> %d: %s", args, rc, out ? out : "(no output)\n");
    assert_no_secret(out, "kvw CLI output");
    assert_int_not_equal(rc, 0);
    if (want)
        assert_non_null(strstr(out, want));
    free(out);
}

static void test_cli_never_prints_secrets(void **state)
{
    (void)state;
    if (!getenv("KVW_CLI") || !*getenv("KVW_CLI"))
        skip(); /* built without tools */
    char args[4096];
    const char *users = ts_server_url(g_users), *token = ts_server_url(g_token);
    const char *op = ts_server_url(g_operator);

    snprintf(args, sizeof args, "--server %s --bucket b --user alice --password %s put k v", users,
             WRONG_PASSWORD);
    cli_must_fail(NULL, args, "KVW_EAUTH");
    snprintf(args, sizeof args, "--server %s --bucket b --user alice put k v", users);
    cli_must_fail("KVW_PASSWORD=" WRONG_PASSWORD, args, "KVW_EAUTH");
    /* The right password, for the wrong user. */
    snprintf(args, sizeof args, "--server %s --bucket b --user mallory --password %s get k", users,
             PASSWORD);
    cli_must_fail(NULL, args, "KVW_EAUTH");
    /* User info inside the URL. */
    snprintf(args, sizeof args, "--server nats://mallory:%s@127.0.0.1:%d --bucket b get k", PASSWORD,
             ts_server_port(g_users));
    cli_must_fail(NULL, args, "KVW_EAUTH");
    snprintf(args, sizeof args, "--server nats://%s@127.0.0.1:%d --bucket b get k", WRONG_TOKEN,
             ts_server_port(g_token));
    cli_must_fail(NULL, args, "KVW_EAUTH");

    snprintf(args, sizeof args, "--server %s --bucket b --token %s put k v", token, WRONG_TOKEN);
    cli_must_fail(NULL, args, "KVW_EAUTH");
    snprintf(args, sizeof args, "--server %s --bucket b put k v", token);
    cli_must_fail("KVW_TOKEN=" WRONG_TOKEN, args, "KVW_EAUTH");

    snprintf(args, sizeof args, "--server %s --bucket b --creds '%s' put k v", op,
             path_in("wrongseed.creds"));
    cli_must_fail(NULL, args, "KVW_EAUTH");
    snprintf(args, sizeof args, "--server %s --bucket b --creds '%s' put k v", op,
             path_in("rogue.creds"));
    cli_must_fail(NULL, args, "KVW_EAUTH");
    /* A TLS failure with credentials set: still nothing secret. */
    snprintf(args, sizeof args, "--server %s --bucket b --user alice --password %s --tls-ca '%s' get k",
             ts_server_url(g_tls), PASSWORD, path_in("other-ca.pem"));
    cli_must_fail(NULL, args, "KVW_ETLS");

    /* The right secrets work, and the output is the version alone. */
    char *out = NULL;
    snprintf(args, sizeof args, "--server %s --bucket cli --creds '%s' put k v", op,
             path_in("user.creds"));
    int rc = cli(NULL, args, &out);
    if (rc != 0) {
        /* Once in ~30 CI runs this first JetStream use of the operator-mode
         * server failed (exit 1, output not kept then); say why, then try
         * once more: what is checked here is the output, not that server. */
        print_error("kvw %s -> %d: %s", args, rc, out ? out : "(no output)\n");
        assert_no_secret(out, "kvw CLI output");
        free(out);
        kt_sleep_ms(500);
        rc = cli(NULL, args, &out);
    }
    assert_int_equal(rc, 0);
    assert_no_secret(out, "kvw CLI output");
    free(out);
    snprintf(args, sizeof args, "--server %s --bucket cli --token %s get k", token, TOKEN);
    assert_int_equal(cli(NULL, args, &out), 4); /* another server: not found */
    assert_no_secret(out, "kvw CLI output");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_verified_put_get),
        cmocka_unit_test(test_tls_wrong_ca_refused),
        cmocka_unit_test(test_tls_plaintext_refused),
        cmocka_unit_test(test_tls_missing_ca_file),
        cmocka_unit_test(test_mtls_client_certificate),
        cmocka_unit_test(test_user_password),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_credentials_file),
        cmocka_unit_test(test_credentials_file_missing),
        cmocka_unit_test(test_permission_denied_is_eperm),
        cmocka_unit_test(test_cli_never_prints_secrets),
    };
    kt_filter_from_env();
    return cmocka_run_group_tests_name("security", tests, group_setup, group_teardown);
}
