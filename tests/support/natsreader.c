#include "natsreader.h"

#include <stdio.h>
#include <string.h>

int kt_nats_open(kt_nats *n, const char *url)
{
    memset(n, 0, sizeof *n);
    natsStatus s = natsConnection_ConnectTo(&n->nc, url);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&n->js, n->nc, NULL);
    if (s != NATS_OK) {
        fprintf(stderr, "natsreader: connect %s: %s (%s)\n", url, natsStatus_GetText(s),
                nats_GetLastError(NULL));
        kt_nats_close(n);
        return -1;
    }
    return 0;
}

void kt_nats_close(kt_nats *n)
{
    if (n->js)
        jsCtx_Destroy(n->js);
    if (n->nc) {
        natsConnection_Close(n->nc);
        natsConnection_Destroy(n->nc);
    }
    n->js = NULL;
    n->nc = NULL;
}
