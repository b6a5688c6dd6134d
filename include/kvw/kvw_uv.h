/*
 * libuv delivery for kvw: callbacks run on the thread that runs `loop`.
 * kvw only uses a uv_async_t on the loop (it never blocks the loop and does
 * no network I/O on it); after kvw_client_close() that handle is closed, so
 * uv_run() returns once the application's own handles are closed too.
 *
 * Rules: call kvw_client_open() on the loop's thread; keep running the loop
 * after kvw_client_close()/kvw_client_free() until uv_run() returns, which
 * releases kvw's memory.
 */
#ifndef KVW_KVW_UV_H
#define KVW_KVW_UV_H

#include "kvw.h"

/* The same type as libuv's uv_loop_t, declared here so that this header
 * needs neither <uv.h> nor its feature macros. */
struct uv_loop_s;

#ifdef __cplusplus
extern "C" {
#endif

/** Selects libuv delivery on `loop` in `opts`. */
static inline void kvw_client_options_use_uv(kvw_client_options *opts, struct uv_loop_s *loop)
{
    opts->delivery = KVW_DELIVERY_LIBUV;
    opts->uv_loop = loop;
}

#ifdef __cplusplus
}
#endif

#endif /* KVW_KVW_UV_H */
