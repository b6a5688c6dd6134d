/*
 * The independent reader: nats.c's own KV API, used only by the tests to
 * check what kvw wrote (and to write data kvw must read).
 */
#ifndef KVW_TESTS_NATSREADER_H
#define KVW_TESTS_NATSREADER_H

#include <nats/nats.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kt_nats {
    natsConnection *nc;
    jsCtx *js;
} kt_nats;

/** Connects to url and makes a JetStream context. 0 or -1 (message on stderr). */
int kt_nats_open(kt_nats *n, const char *url);
/** Destroys the context and connection (not nats_Close(): the suite does that last). */
void kt_nats_close(kt_nats *n);

#ifdef __cplusplus
}
#endif

#endif
