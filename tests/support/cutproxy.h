/*
 * A loopback TCP proxy in front of one nats-server that can lose an answer
 * on purpose: armed with a needle, it forwards the next client->server chunk
 * that contains it, then closes the client's side at once and only
 * half-closes the server's. The server reads and processes what it got (a
 * write is stored) but its answer (the ack) reaches nobody; the client sees a
 * dropped connection and reconnects through the proxy.
 *
 * Connections are relayed one thread each. Functions return 0 / -1 and never
 * use cmocka.
 */
#ifndef KVW_TESTS_CUTPROXY_H
#define KVW_TESTS_CUTPROXY_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_proxy tp_proxy;

/** Listens on a free loopback port and relays to 127.0.0.1:target_port. NULL on failure. */
tp_proxy *tp_proxy_start(int target_port);
/** "nats://127.0.0.1:PORT" of the proxy. */
const char *tp_proxy_url(const tp_proxy *p);
/** Arms one cut: after the next client chunk containing `needle` (copied). */
void tp_proxy_cut_after(tp_proxy *p, const char *needle);
/** Cuts made so far. */
int tp_proxy_cuts(tp_proxy *p);
/**
 * Stops relaying (1) or relays again (0): `requests` client->server (the
 * proxy stops reading, so the client's socket fills), `replies`
 * server->client (the server's answers wait in its socket).
 */
void tp_proxy_hold(tp_proxy *p, int requests, int replies);
/** Closes the listener and every relayed connection, joins the threads, frees. NULL ok. */
void tp_proxy_free(tp_proxy *p);

#ifdef __cplusplus
}
#endif

#endif
