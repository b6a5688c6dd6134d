package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvw_nativeConstants;
import io.kvw.internal.kvwb_bucket;
import io.kvw.internal.kvwb_bucket_options;
import io.kvw.internal.kvwb_client;
import io.kvw.internal.kvwb_client_options;
import io.kvw.internal.kvwb_completion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One connection to NATS (a kvw client) and the thread that completes its
 * operations. Open buckets with {@link #openBucket}; close the client when
 * done (it is {@link AutoCloseable}; an open client is never garbage
 * collected, because its dispatcher thread holds it).
 *
 * <h2>Threads</h2>
 * Every method may be called from any thread. Each client owns one daemon
 * thread, {@code kvw-dispatcher-N}: it waits in libkvw's poll delivery
 * ({@code kvwb_wait}), takes each completion record and completes the op's
 * {@link CompletableFuture}. libkvw never calls into the JVM: its callbacks
 * only queue records in C, and all Java code runs on Java threads.
 *
 * <p>By default futures are completed on the dispatcher thread, so stages
 * attached with the non-async {@code thenApply}/{@code whenComplete}… run
 * there: keep them short, and do not wait in them for another kvw future —
 * that would stall every completion of this client (the blocking methods of
 * {@link Bucket} detect the dispatcher thread and throw
 * {@link IllegalStateException} instead of deadlocking). Use the
 * {@code …Async} stage methods or {@link ClientOptions.Builder#completionExecutor}
 * to run user code elsewhere. Blocking methods never depend on that executor.
 *
 * <h2>Close</h2>
 * {@link #close()} refuses new ops and completes every pending op exactly once
 * — usually with {@link ClosedException}, or with its real outcome when the
 * server's answer was already in — before it returns (called from the
 * dispatcher thread it completes them itself; with a completion executor the
 * last batches are handed to the executor by then).
 */
public final class KvwClient implements AutoCloseable {
    private static final AtomicInteger CLIENTS = new AtomicInteger();
    private static final int ECLOSED = kvw_nativeConstants.KVW_ECLOSED;
    private static final int ENOTFOUND = kvw_nativeConstants.KVW_ENOTFOUND;
    private static final int KVW_TTL_NEVER = kvw_nativeConstants.KVW_TTL_NEVER;
    private static final int OP_GET = kvw_nativeConstants.KVW_OP_GET;
    private static final int OP_GET_ENTRY = kvw_nativeConstants.KVW_OP_GET_ENTRY;

    private final kvwb_client handle;
    private final String servers;
    private final Executor executor;
    private final ConcurrentHashMap<Long, CompletableFuture<Object>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Thread dispatcher;
    /** Read: using the native client handle; write: freeing it. */
    private final ReentrantReadWriteLock handleLock = new ReentrantReadWriteLock();
    private final Object closeLock = new Object();
    private volatile boolean closed;
    private boolean freed; // under handleLock's write lock
    private volatile boolean freeOnExit; // closed from the dispatcher: it frees the handle

    private KvwClient(kvwb_client handle, ClientOptions options) {
        this.handle = handle;
        this.servers = options.servers == null ? "nats://127.0.0.1:4222" : options.servers;
        this.executor = options.completionExecutor;
        this.dispatcher = new Thread(this::dispatch, "kvw-dispatcher-" + CLIENTS.incrementAndGet());
        dispatcher.setDaemon(true);
        dispatcher.start();
    }

    /** Connects to the comma-separated server URLs with default options. */
    public static KvwClient connect(String servers) {
        return connect(ClientOptions.servers(Objects.requireNonNull(servers, "servers")));
    }

    /**
     * Connects (blocking, up to the connect timeout per server) and starts the
     * dispatcher thread.
     *
     * @throws NotConnectedException when no server answers
     * @throws AuthenticationException when the server refuses the credentials
     * @throws KvwTlsException when TLS fails
     * @throws InvalidArgumentException for a refused option value
     */
    public static KvwClient connect(ClientOptions options) {
        Objects.requireNonNull(options, "options");
        Native.init();
        kvwb_client_options o = options.toNative();
        kvwb_client h = kvw_native.kvwb_client_new();
        int rc;
        try {
            if (h == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), null, null);
            rc = kvw_native.kvwb_client_open(h, o);
        } finally {
            o.delete();
        }
        if (rc != 0) {
            h.delete();
            String where = options.servers == null ? "nats://127.0.0.1:4222" : options.servers;
            throw KvwException.create(rc, "cannot connect to " + where + ": " + Native.strerror(rc),
                    null, null, 0, null, true);
        }
        return new KvwClient(h, options);
    }

    /** The libkvw version this binding runs on, e.g. "0.2.0". */
    /**
     * The version of the server this client is connected to now, e.g.
     * "2.11.3"; it can change after a reconnect to another server.
     * Throws {@link ClosedException} / {@link NotConnectedException}.
     */
    public String serverVersion() {
        int v;
        handleLock.readLock().lock();
        try {
            if (closed) throw KvwException.create(ECLOSED, "the client is closed", null, null, 0, null, true);
            v = kvw_native.kvwb_client_server_version(handle);
        } finally {
            handleLock.readLock().unlock();
        }
        if (v < 0) throw KvwException.create(v, Native.strerror(v), null, null, 0, null, true);
        return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
    }

    public static String libraryVersion() {
        Native.init();
        return kvw_native.kvw_library_version_string();
    }

    /** True if {@code key} is a valid key (1..1024 of [-/_=.a-zA-Z0-9], no leading/trailing '.', no ".."). */
    public static boolean isValidKey(String key) {
        Native.init();
        return key != null && kvw_native.kvw_key_check(key) == 0;
    }

    /** True if {@code name} is a valid bucket name ([A-Za-z0-9_-]+). */
    public static boolean isValidBucketName(String name) {
        Native.init();
        return name != null && kvw_native.kvw_bucket_name_check(name) == 0;
    }

    /** Opens an existing bucket (blocking: one JetStream request). */
    public Bucket openBucket(String name) {
        return openBucket(name, BucketOptions.DEFAULT);
    }

    /**
     * Opens bucket {@code name}, creating it when {@code options} say so
     * (blocking: one or two JetStream requests).
     *
     * @throws NoSuchBucketException when it does not exist and options do not create it
     * @throws InvalidBucketNameException for a name that is not [A-Za-z0-9_-]+
     * @throws ClosedException when this client is closed
     * @throws KvwException for other failures (timeout, not connected, permission denied…)
     */
    public Bucket openBucket(String name, BucketOptions options) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(options, "options");
        handleLock.readLock().lock();
        try {
            if (closed) throw KvwException.create(ECLOSED, "the client is closed", null, null, 0, null, true);
            kvwb_bucket_options o = options.toNative();
            kvwb_bucket b = kvw_native.kvwb_bucket_new();
            int rc;
            try {
                if (b == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), null, null);
                rc = kvw_native.kvwb_bucket_open(b, handle, name, o);
            } finally {
                o.delete();
            }
            if (rc != 0) {
                b.delete();
                throw KvwException.create(rc, "cannot open bucket \"" + name + "\": " + Native.strerror(rc),
                        null, null, 0, null, true);
            }
            return new Bucket(this, b, name);
        } finally {
            handleLock.readLock().unlock();
        }
    }

    /** Ops submitted through this client whose future is not completed yet. */
    public int inflight() {
        return pending.size();
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** The server URLs this client was opened with. */
    public String servers() {
        return servers;
    }

    /**
     * Closes the connection: new ops fail with {@link ClosedException}, and
     * every pending op completes exactly once (see the class comment) before
     * this returns. Idempotent; safe from any thread, including inside a
     * completion stage.
     */
    @Override
    public void close() {
        closeWith(() -> kvw_native.kvwb_client_close(handle));
    }

    /**
     * Waits until every op accepted so far has its outcome, at most
     * {@code timeout}, then closes as {@link #close()} does; new ops fail with
     * {@link ClosedException} from the start. With resends on, writes whose ack
     * was lost get their real outcome meanwhile instead of
     * {@link ClosedException}.
     *
     * @return true when every op had its outcome; false when ops still in
     *     flight at the end were cancelled (they complete with
     *     {@link ClosedException}). True at once on a closed client.
     */
    public boolean drain(Duration timeout) {
        if (timeout.isNegative()) throw new IllegalArgumentException("drain: negative timeout " + timeout);
        return closeWith(() -> kvw_native.kvwb_client_drain(handle, ClientOptions.millis(timeout))) == 0;
    }

    private int closeWith(java.util.function.IntSupplier shimClose) {
        int rc = 0;
        synchronized (closeLock) {
            if (!closed) {
                closed = true;
                // Every pending op's record is queued before this returns.
                rc = shimClose.getAsInt();
            }
        }
        if (Thread.currentThread() == dispatcher) {
            freeOnExit = true;
            drain(); // complete them now; the loop sees KVW_ECLOSED next and exits
            return rc;
        }
        boolean interrupted = false;
        while (dispatcher.isAlive()) {
            try {
                dispatcher.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        free();
        return rc;
    }

    @Override
    public String toString() {
        return "KvwClient{" + servers + (closed ? ", closed" : "") + ", inflight=" + pending.size() + "}";
    }

    // ------------------------------------------------------------ internals

    private void free() {
        handleLock.writeLock().lock();
        try {
            if (!freed) {
                freed = true;
                handle.delete(); // kvwb_client_free; buckets keep the shared state alive
            }
        } finally {
            handleLock.writeLock().unlock();
        }
    }

    /** Registers a future under a fresh op id. */
    @SuppressWarnings("unchecked")
    long register(CompletableFuture<?> f) {
        long id = ids.incrementAndGet();
        pending.put(id, (CompletableFuture<Object>) f);
        return id;
    }

    /** The submit threw before kvw saw the op (no record will come). */
    void forget(long id) {
        pending.remove(id);
    }

    /** The submit was refused (no record will come): fail the future. */
    void refused(long id, CompletableFuture<?> f, KvwException why) {
        pending.remove(id);
        f.completeExceptionally(why);
    }

    private void dispatch() {
        try {
            for (;;) {
                int n = kvw_native.kvwb_wait(handle, -1);
                // KVW_ECLOSED comes only once the close has returned and every
                // record it queued has been taken: nothing is left after it.
                if (n == ECLOSED) break;
                if (n < 0) break; // never opened: cannot happen
                drain();
            }
        } catch (Throwable t) {
            Thread me = Thread.currentThread();
            me.getUncaughtExceptionHandler().uncaughtException(me, t);
        } finally {
            // Nothing can complete these any more (a defensive sweep: kvw
            // queued a record for every accepted op before kvwb_wait said
            // KVW_ECLOSED, so normally nothing is left).
            for (Long id : pending.keySet()) {
                CompletableFuture<Object> f = pending.remove(id);
                if (f != null) {
                    f.completeExceptionally(KvwException.create(ECLOSED, "the client is closed",
                            null, null, 0, null, false));
                }
            }
            if (freeOnExit) free();
        }
    }

    /** Pops every queued record and completes its future. Dispatcher thread (or close on it). */
    private void drain() {
        List<Object> batch = null;
        kvwb_completion r;
        while ((r = kvw_native.kvwb_next(handle)) != null) {
            long id;
            Object outcome;
            try {
                id = r.getOp_id();
                outcome = outcome(r);
            } catch (Throwable t) {
                continue; // cannot happen short of an Error; the sweep at exit covers the op
            } finally {
                r.delete();
            }
            CompletableFuture<Object> f = pending.remove(id);
            if (f == null) continue;
            if (executor == null) {
                complete(f, outcome);
            } else {
                if (batch == null) batch = new ArrayList<>();
                batch.add(f);
                batch.add(outcome);
            }
        }
        if (batch != null) {
            List<Object> b = batch;
            try {
                executor.execute(() -> completeAll(b));
            } catch (RejectedExecutionException e) {
                completeAll(b);
            }
        }
    }

    private static void completeAll(List<Object> batch) {
        for (int i = 0; i < batch.size(); i += 2) {
            @SuppressWarnings("unchecked")
            CompletableFuture<Object> f = (CompletableFuture<Object>) batch.get(i);
            complete(f, batch.get(i + 1));
        }
    }

    private static void complete(CompletableFuture<Object> f, Object outcome) {
        if (outcome instanceof KvwException) f.completeExceptionally((KvwException) outcome);
        else f.complete(outcome);
    }

    /** A record as the future's value (Version, Optional of Entry) or a KvwException. */
    /** A multi-key read's record and its entries (owned by the record). */
    @SuppressWarnings("unchecked")
    private static Snapshot snapshot(kvwb_completion r) {
        long rev = r.getRevision();
        int n = (int) r.getEntry_count();
        java.util.List<String> keys = new java.util.ArrayList<>(n);
        java.util.List<Optional<Entry>> entries = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            kvwb_completion e = kvw_native.kvwb_completion_entry(r, i);
            keys.add(e.getKey());
            entries.add(e.getStatus() == 0 ? (Optional<Entry>) outcome(e) : Optional.empty());
        }
        return new Snapshot(rev > 0 ? Version.ofRevision(rev) : null, keys, entries);
    }

    static Object outcome(kvwb_completion r) {
        int status = r.getStatus();
        int op = r.getOp();
        boolean read = op == OP_GET || op == OP_GET_ENTRY;
        if (status == 0) {
            long rev = r.getRevision();
            if (op == OpType.TXN.code()) return Transaction.versions(rev, r.getTxn_writes());
            if (op == OpType.GET_MANY.code()) return snapshot(r);
            Version v = rev > 0 ? Version.ofRevision(rev) : Version.fromCanonical(r.getVersion());
            if (!read) return v;
            EntryOperation eo = EntryOperation.of(r.getEntry_op());
            long ttl = r.getTtl_ms();
            return Optional.of(new Entry(r.getKey(), r.value_bytes(), v, eo == null ? EntryOperation.PUT : eo,
                    ttl == 0 ? null : ttl == KVW_TTL_NEVER ? Bucket.TTL_NEVER : Duration.ofMillis(ttl)));
        }
        if (read && status == ENOTFOUND) return Optional.empty();
        long rev = r.getRevision();
        Version current = rev > 0 ? Version.ofRevision(rev) : null;
        if (current == null) {
            String text = r.getVersion();
            if (!text.equals("unknown")) current = Version.fromCanonical(text);
        }
        return KvwException.create(status, r.getMessage(), OpType.of(op), r.getKey(), r.getServer_error(),
                current, false);
    }
}
