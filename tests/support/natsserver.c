#define _GNU_SOURCE
#include "natsserver.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TS_START_TIMEOUT_MS 10000
#define TS_STOP_TIMEOUT_MS 10000
#define TS_POLL_STEP_MS 10

struct ts_server {
    char dir[256];
    char store[300];
    char log[300];
    char bin[1024];
    char **extra;    /* NULL-terminated, %DIR% already substituted */
    int port;        /* 0 until the first start */
    char url[64];
    pid_t pid;       /* 0 when not running */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static char *subst_dir(const char *arg, const char *dir)
{
    const char *tag = "%DIR%";
    size_t n = 1;
    for (const char *p = arg; *p;) {
        if (strncmp(p, tag, 5) == 0) {
            n += strlen(dir);
            p += 5;
        } else {
            n++;
            p++;
        }
    }
    char *out = malloc(n);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = arg; *p;) {
        if (strncmp(p, tag, 5) == 0) {
            strcpy(o, dir);
            o += strlen(dir);
            p += 5;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* Resolves the binary before fork(): execv() after fork() must not search PATH. */
static int resolve_bin(char *out, size_t size)
{
    const char *bin = getenv("NATS_SERVER_BIN");
    if (!bin || !*bin)
        bin = "nats-server";
    if (strchr(bin, '/')) {
        if (access(bin, X_OK) != 0) {
            fprintf(stderr, "natsserver: %s is not executable\n", bin);
            return -1;
        }
        snprintf(out, size, "%s", bin);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int found = -1;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, size, "%s/%s", *d ? d : ".", bin);
        if (access(out, X_OK) == 0) {
            found = 0;
            break;
        }
    }
    free(copy);
    /* Debian installs it in sbin, which a user's PATH often lacks. */
    const char *sbin[] = {"/usr/sbin/nats-server", "/usr/local/sbin/nats-server"};
    for (size_t i = 0; found != 0 && strcmp(bin, "nats-server") == 0 && i < 2; i++) {
        if (access(sbin[i], X_OK) == 0) {
            snprintf(out, size, "%s", sbin[i]);
            found = 0;
        }
    }
    if (found != 0)
        fprintf(stderr, "natsserver: %s not found on PATH (set NATS_SERVER_BIN)\n", bin);
    return found;
}

ts_server *ts_server_new(const char *const *extra_args)
{
    ts_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (resolve_bin(s->bin, sizeof s->bin) != 0) {
        free(s);
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(s->dir, sizeof s->dir, "%s/kvw-test-XXXXXX", tmp);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "natsserver: mkdtemp(%s): %s\n", s->dir, strerror(errno));
        free(s);
        return NULL;
    }
    snprintf(s->store, sizeof s->store, "%s/store", s->dir);
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    size_t n = 0;
    while (extra_args && extra_args[n])
        n++;
    s->extra = calloc(n + 1, sizeof *s->extra);
    if (!s->extra) {
        ts_server_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        s->extra[i] = subst_dir(extra_args[i], s->dir);
        if (!s->extra[i]) {
            ts_server_free(s);
            return NULL;
        }
    }
    return s;
}

ts_server *ts_server_spawn(const char *const *extra_args)
{
    ts_server *s = ts_server_new(extra_args);
    if (s && ts_server_start(s) != 0) {
        ts_server_free(s);
        return NULL;
    }
    return s;
}

static void dump_log_tail(const ts_server *s)
{
    FILE *f = fopen(s->log, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 4000 ? size - 4000 : 0, SEEK_SET);
    char buf[4001];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    fprintf(stderr, "natsserver: --- tail of %s ---\n%s\n--- end ---\n", s->log, buf);
}

/* Reads the port from <dir>/<exe>_<pid>.ports: {"nats":["nats://127.0.0.1:PORT"],...} */
static int read_ports_file(const ts_server *s)
{
    char suffix[64];
    snprintf(suffix, sizeof suffix, "_%ld.ports", (long)s->pid);
    DIR *d = opendir(s->dir);
    if (!d)
        return 0;
    char path[600] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0) {
            snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
            break;
        }
    }
    closedir(d);
    if (!path[0])
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    const char *p = strstr(buf, "\"nats\"");
    if (!p)
        return 0;
    p = strstr(p, "://"); /* nats://HOST:PORT, or tls://HOST:PORT when TLS is required */
    if (!p)
        return 0;
    p += 3;
    const char *colon = strchr(p, ':');
    const char *quote = strchr(p, '"');
    if (!colon || !quote || colon > quote)
        return 0; /* file still being written */
    long port = strtol(colon + 1, NULL, 10);
    return port > 0 && port < 65536 ? (int)port : 0;
}

/* 1 once a TCP connection to the port gets the server's INFO line. */
static int answers_info(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        struct timeval tv = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[5];
        size_t got = 0;
        while (got < 4) {
            ssize_t r = recv(fd, buf + got, 4 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        ok = got == 4 && memcmp(buf, "INFO", 4) == 0;
    }
    close(fd);
    return ok;
}

static int reap(ts_server *s, int options)
{
    int st;
    pid_t r;
    do {
        r = waitpid(s->pid, &st, options);
    } while (r < 0 && errno == EINTR);
    if (r == s->pid || (r < 0 && errno == ECHILD)) {
        s->pid = 0;
        return 1;
    }
    return 0;
}

int ts_server_start(ts_server *s)
{
    if (!s)
        return -1;
    if (s->pid > 0)
        return 0;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port > 0 ? s->port : -1);
    const char *fixed[] = {s->bin, "-js", "-a", "127.0.0.1", "-p", port,
                           "--ports_file_dir", s->dir, "-sd", s->store};
    size_t nfixed = sizeof fixed / sizeof fixed[0], nextra = 0;
    while (s->extra[nextra])
        nextra++;
    char **argv = calloc(nfixed + nextra + 1, sizeof *argv);
    if (!argv)
        return -1;
    for (size_t i = 0; i < nfixed; i++)
        argv[i] = (char *)fixed[i];
    for (size_t i = 0; i < nextra; i++)
        argv[nfixed + i] = s->extra[i];

    int logfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0) {
        fprintf(stderr, "natsserver: open log: %s\n", strerror(errno));
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        free(argv);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until execv(). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    free(argv);
    if (pid < 0) {
        fprintf(stderr, "natsserver: fork: %s\n", strerror(errno));
        return -1;
    }
    s->pid = pid;

    int64_t deadline = now_ms() + TS_START_TIMEOUT_MS;
    for (;;) {
        if (reap(s, WNOHANG)) {
            fprintf(stderr, "natsserver: %s exited during start-up\n", s->bin);
            dump_log_tail(s);
            return -1;
        }
        if (s->port <= 0)
            s->port = read_ports_file(s);
        if (s->port > 0 && answers_info(s->port))
            break;
        if (now_ms() > deadline) {
            fprintf(stderr, "natsserver: not ready after %d ms\n", TS_START_TIMEOUT_MS);
            dump_log_tail(s);
            ts_server_kill(s);
            return -1;
        }
        sleep_ms(TS_POLL_STEP_MS); /* polling another process: no condition to wait on */
    }
    snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
    return 0;
}

static int stop_with(ts_server *s, int sig)
{
    if (!s)
        return -1;
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGCONT);
    kill(s->pid, sig);
    int64_t deadline = now_ms() + TS_STOP_TIMEOUT_MS;
    while (!reap(s, WNOHANG)) {
        if (now_ms() > deadline) {
            fprintf(stderr, "natsserver: pid %ld ignored signal %d; killing it\n", (long)s->pid, sig);
            kill(s->pid, SIGKILL);
            reap(s, 0);
            return -1;
        }
        sleep_ms(TS_POLL_STEP_MS);
    }
    return 0;
}

int ts_server_stop(ts_server *s) { return stop_with(s, SIGTERM); }

int ts_server_kill(ts_server *s) { return stop_with(s, SIGKILL); }

int ts_server_restart(ts_server *s)
{
    if (ts_server_stop(s) != 0)
        return -1;
    return ts_server_start(s);
}

/* 1 when every thread of pid is in the stopped state ('T' in
 * /proc/PID/task/TID/stat), 0 otherwise or when it cannot be read. */
static int all_threads_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int seen = 0, stopped = 1;
    struct dirent *e;
    while (stopped && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat_path[sizeof path + 256 + 8], buf[512];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(stat_path, "r");
        if (!f)
            continue; /* a thread that just exited */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close_paren = strrchr(buf, ')'); /* the name may hold spaces and ')' */
        stopped = close_paren && close_paren[1] == ' ' && close_paren[2] == 'T';
        seen++;
    }
    closedir(d);
    return seen > 0 && stopped;
}

int ts_server_pause(ts_server *s)
{
    if (!s || s->pid <= 0)
        return -1;
    if (kill(s->pid, SIGSTOP) != 0)
        return -1;
    /* kill() returns before every thread of the server has stopped, and until
     * then it may still answer what a test sends next (seen under TSan, and
     * once on a loaded machine after the kernel's stop report): wait until
     * /proc shows every thread stopped, then take the stop report, if any,
     * so that it cannot be mistaken for a later one. */
    int64_t deadline = now_ms() + 5000;
    while (!all_threads_stopped(s->pid)) {
        if (now_ms() > deadline) {
            fprintf(stderr, "natsserver: pid %ld not stopped 5 s after SIGSTOP\n", (long)s->pid);
            return -1;
        }
        sleep_ms(1);
    }
    siginfo_t info;
    memset(&info, 0, sizeof info);
    waitid(P_PID, (id_t)s->pid, &info, WSTOPPED | WNOHANG);
    return 0;
}

int ts_server_resume(ts_server *s)
{
    if (!s || s->pid <= 0)
        return -1;
    return kill(s->pid, SIGCONT) == 0 ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void ts_server_free(ts_server *s)
{
    if (!s)
        return;
    ts_server_stop(s);
    if (s->dir[0] && !getenv("KVW_TEST_KEEP_TMP"))
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (s->extra) {
        for (size_t i = 0; s->extra[i]; i++)
            free(s->extra[i]);
        free(s->extra);
    }
    free(s);
}

const char *ts_server_url(const ts_server *s) { return s ? s->url : NULL; }

int ts_server_port(const ts_server *s) { return s ? s->port : 0; }

long ts_server_pid(const ts_server *s) { return s ? (long)s->pid : 0; }

const char *ts_server_dir(const ts_server *s) { return s ? s->dir : NULL; }

int ts_server_running(const ts_server *s) { return s && s->pid > 0; }

int ts_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}
