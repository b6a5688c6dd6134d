/*
 * A private nats-server for one test suite, the shim test
 * (bindings/common/test_shim.c) or `kvw bench` (tools/bench/).
 *
 *   nats-server -js -a 127.0.0.1 -p -1 --ports_file_dir <tmp> -sd <tmp>/store [extra args]
 *
 * The binary is $NATS_SERVER_BIN, else `nats-server` on PATH or in
 * /usr/sbin, /usr/local/sbin. The port the
 * server picked is read from its ports file; later restarts reuse that port
 * and the same store directory. The temporary directory (which also holds
 * the server's log, <tmp>/server.log) is removed by ts_server_free().
 *
 * In extra args the text "%DIR%" is replaced by the temporary directory,
 * so a suite can write e.g. <dir>/auth.conf after ts_server_new() and pass
 * "-c", "%DIR%/auth.conf" before ts_server_start().
 *
 * All functions return 0 on success and -1 on failure (with a line on
 * stderr saying why); none of them uses cmocka, so they are safe in group
 * setup/teardown. Call them from one thread (the test thread): the server
 * is started with PR_SET_PDEATHSIG, so it dies with the thread that forked it.
 */
#ifndef KVW_TESTS_NATSSERVER_H
#define KVW_TESTS_NATSSERVER_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_server ts_server;

/** Creates the temporary directory; does not start the server. `extra_args`
 *  is NULL or a NULL-terminated array (copied). NULL on failure. */
ts_server *ts_server_new(const char *const *extra_args);
/** ts_server_new() + ts_server_start(); NULL (and everything cleaned up) on failure. */
ts_server *ts_server_spawn(const char *const *extra_args);
/** Starts the server (first time: any free port; later: the same port) and
 *  waits (<= 10 s) until it answers with an INFO line. */
int ts_server_start(ts_server *s);
/** SIGCONT (in case it was paused), SIGTERM, waitpid (SIGKILL after 10 s). */
int ts_server_stop(ts_server *s);
/** SIGKILL + waitpid: an abrupt crash, nothing flushed on purpose. */
int ts_server_kill(ts_server *s);
/** ts_server_stop() then ts_server_start(): same port, same store. */
int ts_server_restart(ts_server *s);
/** SIGSTOP: the server keeps its sockets but stops answering (returns once
 *  every server thread has stopped). */
int ts_server_pause(ts_server *s);
/** SIGCONT. Harmless when not paused. */
int ts_server_resume(ts_server *s);
/** Stops the server if running, removes the temporary directory, frees. NULL ok. */
void ts_server_free(ts_server *s);

/** "nats://127.0.0.1:PORT" (valid once started; stays valid across restarts). */
const char *ts_server_url(const ts_server *s);
int ts_server_port(const ts_server *s);
/** The server's process id while it runs, else 0. */
long ts_server_pid(const ts_server *s);
/** The temporary directory (exists from ts_server_new() to ts_server_free()). */
const char *ts_server_dir(const ts_server *s);
/** 1 while the server process is running (paused counts as running). */
int ts_server_running(const ts_server *s);

/** A loopback TCP port with nothing listening on it right now (0 on failure). */
int ts_free_port(void);

#ifdef __cplusplus
}
#endif

#endif
