#define _GNU_SOURCE
#include "cutproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TP_MAX_CONNS 64

typedef struct tp_conn {
    tp_proxy *proxy;
    int client, server;
    pthread_t thread;
} tp_conn;

struct tp_proxy {
    int listener, target_port, stop_pipe[2];
    char url[64];
    pthread_t acceptor;
    pthread_mutex_t mu;
    char needle[256]; /* armed when non-empty */
    int cuts;
    int hold_requests, hold_replies;
    tp_conn conns[TP_MAX_CONNS];
    int nconns;
};

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Takes the armed needle if `buf` holds it. */
static int should_cut(tp_proxy *p, const char *buf, size_t len)
{
    pthread_mutex_lock(&p->mu);
    int cut = p->needle[0] != '\0' && memmem(buf, len, p->needle, strlen(p->needle)) != NULL;
    if (cut) {
        p->needle[0] = '\0';
        p->cuts++;
    }
    pthread_mutex_unlock(&p->mu);
    return cut;
}

static void *relay_main(void *arg)
{
    tp_conn *c = arg;
    char buf[65536];
    struct pollfd fds[3] = {{c->client, POLLIN, 0}, {c->server, POLLIN, 0}, {c->proxy->stop_pipe[0], POLLIN, 0}};
    for (;;) {
        pthread_mutex_lock(&c->proxy->mu);
        fds[0].events = c->proxy->hold_requests ? 0 : POLLIN;
        fds[1].events = c->proxy->hold_replies ? 0 : POLLIN;
        pthread_mutex_unlock(&c->proxy->mu);
        fds[0].revents = fds[1].revents = 0;
        /* The hold flags are read again every 10 ms, and after each wait:
         * a direction held meanwhile relays nothing more. */
        if (poll(fds, 3, 10) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[2].revents)
            break;
        pthread_mutex_lock(&c->proxy->mu);
        const int hold_requests = c->proxy->hold_requests, hold_replies = c->proxy->hold_replies;
        pthread_mutex_unlock(&c->proxy->mu);
        if (hold_requests)
            fds[0].revents = 0;
        if (hold_replies)
            fds[1].revents = 0;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(c->client, buf, sizeof buf, 0);
            if (n <= 0 || write_all(c->server, buf, (size_t)n) != 0)
                break;
            if (should_cut(c->proxy, buf, (size_t)n)) {
                /* The server gets EOF after the write and processes it; its
                 * answers go nowhere. */
                shutdown(c->client, SHUT_RDWR);
                shutdown(c->server, SHUT_WR);
                while (recv(c->server, buf, sizeof buf, 0) > 0) {
                }
                break;
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(c->server, buf, sizeof buf, 0);
            if (n <= 0 || write_all(c->client, buf, (size_t)n) != 0)
                break;
        }
    }
    shutdown(c->client, SHUT_RDWR);
    shutdown(c->server, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    tp_proxy *p = arg;
    struct pollfd fds[2] = {{p->listener, POLLIN, 0}, {p->stop_pipe[0], POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno == EINTR)
            continue;
        if (fds[1].revents)
            return NULL;
        int cl = accept(p->listener, NULL, NULL);
        if (cl < 0)
            continue;
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)p->target_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int sv = socket(AF_INET, SOCK_STREAM, 0);
        pthread_mutex_lock(&p->mu);
        int full = p->nconns == TP_MAX_CONNS;
        pthread_mutex_unlock(&p->mu);
        if (sv < 0 || full || connect(sv, (struct sockaddr *)&a, sizeof a) != 0) {
            if (full)
                fprintf(stderr, "cutproxy: more than %d connections\n", TP_MAX_CONNS);
            close(cl);
            if (sv >= 0)
                close(sv);
            continue;
        }
        pthread_mutex_lock(&p->mu);
        tp_conn *c = &p->conns[p->nconns];
        c->proxy = p;
        c->client = cl;
        c->server = sv;
        if (pthread_create(&c->thread, NULL, relay_main, c) == 0) {
            p->nconns++;
        } else {
            close(cl);
            close(sv);
        }
        pthread_mutex_unlock(&p->mu);
    }
}

tp_proxy *tp_proxy_start(int target_port)
{
    tp_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->target_port = target_port;
    pthread_mutex_init(&p->mu, NULL);
    p->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (p->listener < 0 || bind(p->listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->listener, 16) != 0 || getsockname(p->listener, (struct sockaddr *)&a, &len) != 0 ||
        pipe(p->stop_pipe) != 0) {
        fprintf(stderr, "cutproxy: cannot listen: %s\n", strerror(errno));
        if (p->listener >= 0)
            close(p->listener);
        free(p);
        return NULL;
    }
    snprintf(p->url, sizeof p->url, "nats://127.0.0.1:%d", ntohs(a.sin_port));
    if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
        close(p->listener);
        close(p->stop_pipe[0]);
        close(p->stop_pipe[1]);
        free(p);
        return NULL;
    }
    return p;
}

const char *tp_proxy_url(const tp_proxy *p) { return p->url; }

void tp_proxy_cut_after(tp_proxy *p, const char *needle)
{
    pthread_mutex_lock(&p->mu);
    snprintf(p->needle, sizeof p->needle, "%s", needle);
    pthread_mutex_unlock(&p->mu);
}

void tp_proxy_hold(tp_proxy *p, int requests, int replies)
{
    pthread_mutex_lock(&p->mu);
    p->hold_requests = requests;
    p->hold_replies = replies;
    pthread_mutex_unlock(&p->mu);
}

int tp_proxy_cuts(tp_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->cuts;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void tp_proxy_free(tp_proxy *p)
{
    if (!p)
        return;
    if (write(p->stop_pipe[1], "x", 1) != 1)
        fprintf(stderr, "cutproxy: cannot signal the threads\n");
    pthread_join(p->acceptor, NULL);
    for (int i = 0; i < p->nconns; i++) {
        pthread_join(p->conns[i].thread, NULL);
        close(p->conns[i].client);
        close(p->conns[i].server);
    }
    close(p->listener);
    close(p->stop_pipe[0]);
    close(p->stop_pipe[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
