package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvw_nativeConstants;
import io.kvw.internal.kvwb_bucket;
import io.kvw.internal.kvwb_call;
import io.kvw.internal.kvwb_completion;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One NATS KV bucket, reached through a {@link KvwClient}. Thread-safe.
 *
 * <p>Every operation comes in two forms: {@code putAsync(...)} submits without
 * blocking and returns a {@link CompletableFuture}; {@code put(...)} waits for
 * the result. A submit that kvw refuses at once (bad key, bad version, value
 * too large, in-flight window full, closed) gives an already-failed future
 * and sends nothing. Failures are {@link KvwException}s of the subclass for
 * their {@link KvwError} (the future completes exceptionally with it; the
 * blocking form throws it).
 *
 * <p>Keys are 1..1024 characters of {@code [-/_=.a-zA-Z0-9]}, without a
 * leading or trailing '.', without "..". Values are any bytes (NUL included),
 * copied before the call returns, so the array may be reused at once; a null
 * value is an empty one (as Go's nil slice and Ruby's nil). Ops on one key
 * submitted from one thread reach the server in submission order.
 *
 * <p>Null and refusals: a null key, expected version, minimum version or TTL
 * is a programming error and throws {@link NullPointerException} at the call,
 * async forms included. Everything kvw refuses at submit time (a malformed
 * key, a value too large, a full window, a closed client) is a
 * {@link KvwException}: thrown by the blocking form, an already-failed future
 * from the async form, nothing sent.
 *
 * <p>Per-key TTL (nats-server 2.11+): {@code create}, {@code purge} and, on
 * buckets with history 1, {@code put}, {@code update} and {@code delete} take a
 * {@link Duration}: whole seconds, at least 1 s, or {@link #TTL_NEVER}; others
 * fail with {@link InvalidTtlException}. Without the feature the op fails with
 * {@link NotSupportedException}, whose message is {@link #featureStatus}.
 */
public final class Bucket implements AutoCloseable {
    private final KvwClient client;
    private final kvwb_bucket handle;
    private final String name;
    private volatile boolean closed;

    /** As a TTL: the record never expires, even in a bucket with maxAge. */
    public static final Duration TTL_NEVER = ChronoUnit.FOREVER.getDuration();
    private static final long NO_TTL = 0;
    private static final byte[] EMPTY = new byte[0];

    Bucket(KvwClient client, kvwb_bucket handle, String name) {
        this.client = client;
        this.handle = handle;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public KvwClient client() {
        return client;
    }

    /** The largest value {@code put} accepts here, in bytes. */
    public long maxValueSize() {
        return kvw_native.kvwb_bucket_max_value_size(handle);
    }

    /** True once {@link #close()} was called on this bucket. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Refuses new ops on this bucket ({@link ClosedException}); ops already
     * pending complete normally. Idempotent. The client stays open.
     */
    @Override
    public void close() {
        closed = true;
        kvw_native.kvwb_bucket_close(handle);
    }

    @Override
    public String toString() {
        return "Bucket{" + name + (closed ? ", closed" : "") + "}";
    }

    // ------------------------------------------------------------ features

    /** Whether the bucket has {@code feature}, as read when it was opened (or set by {@link #enableTtl}). */
    public boolean supports(Feature feature) {
        return kvw_native.kvwb_bucket_supports(handle, Objects.requireNonNull(feature).code) == 1;
    }

    /** "supported", or a sentence saying what the bucket or server lacks for {@code feature}. */
    public String featureStatus(Feature feature) {
        return kvw_native.kvwb_bucket_feature_status(handle, Objects.requireNonNull(feature).code);
    }

    /**
     * Turns per-key TTL on for this existing bucket (the server never turns
     * it off again) and, for a positive {@code limitMarkerTtl}, limit markers.
     * Blocking (two JetStream requests).
     *
     * @throws NotSupportedException on servers older than 2.11
     */
    public void enableTtl(Duration limitMarkerTtl) {
        int rc = kvw_native.kvwb_bucket_enable_ttl(handle, ClientOptions.millis(Objects.requireNonNull(limitMarkerTtl)));
        if (rc != 0) {
            String detail = rc == kvw_nativeConstants.KVW_ENOTSUP ? featureStatus(Feature.TTL) : Native.strerror(rc);
            throw KvwException.create(rc, detail, null, name, 0, null, true);
        }
    }

    // ------------------------------------------------------------ writes

    /** Stores {@code value} under {@code key}; completes with the new version. */
    public CompletableFuture<Version> putAsync(String key, byte[] value) {
        return submit(OpType.PUT, key, value, null);
    }

    /** Blocking {@link #putAsync}. */
    public Version put(String key, byte[] value) {
        return blocking(OpType.PUT, key, value, null);
    }

    /** {@link #putAsync} whose value expires after {@code ttl} ({@link Feature#TTL_ON_WRITE}). */
    public CompletableFuture<Version> putAsync(String key, byte[] value, Duration ttl) {
        return submit(OpType.PUT, key, value, null, ttlMillis(ttl));
    }

    /** Blocking {@link #putAsync(String, byte[], Duration)}. */
    public Version put(String key, byte[] value, Duration ttl) {
        return blocking(OpType.PUT, key, value, null, ttlMillis(ttl));
    }

    /**
     * Stores {@code value} only if {@code key} has no live value: never
     * written, or deleted / purged with {@link #delete} / {@link #purge}.
     * Fails with {@link AlreadyExistsException} when it holds a value,
     * including the empty-value tombstone of {@link #deleteWithVersion}. Of
     * two racing creators exactly one wins.
     */
    public CompletableFuture<Version> createAsync(String key, byte[] value) {
        return submit(OpType.CREATE, key, value, null);
    }

    /** Blocking {@link #createAsync}. */
    public Version create(String key, byte[] value) {
        return blocking(OpType.CREATE, key, value, null);
    }

    /**
     * {@link #createAsync} whose value expires after {@code ttl}: a lock or
     * lease that frees itself; the key can be created again once it expired
     * ({@link Feature#TTL}).
     */
    public CompletableFuture<Version> createAsync(String key, byte[] value, Duration ttl) {
        return submit(OpType.CREATE, key, value, null, ttlMillis(ttl));
    }

    /** Blocking {@link #createAsync(String, byte[], Duration)}. */
    public Version create(String key, byte[] value, Duration ttl) {
        return blocking(OpType.CREATE, key, value, null, ttlMillis(ttl));
    }

    /**
     * Stores {@code value} only if the key's latest version is
     * {@code expected}; else {@link ConflictException} (also for a key that
     * never existed). {@link InvalidVersionException} for {@link Version#UNKNOWN}.
     */
    public CompletableFuture<Version> updateAsync(String key, byte[] value, Version expected) {
        return submit(OpType.UPDATE, key, value,
                Objects.requireNonNull(expected, "expected"));
    }

    /** Blocking {@link #updateAsync}. */
    public Version update(String key, byte[] value, Version expected) {
        return blocking(OpType.UPDATE, key, value,
                Objects.requireNonNull(expected, "expected"));
    }

    /** {@link #updateAsync} that sets a new TTL: renews a lease ({@link Feature#TTL_ON_WRITE}). */
    public CompletableFuture<Version> updateAsync(String key, byte[] value, Version expected, Duration ttl) {
        return submit(OpType.UPDATE, key, value,
                Objects.requireNonNull(expected, "expected"), ttlMillis(ttl));
    }

    /** Blocking {@link #updateAsync(String, byte[], Version, Duration)}. */
    public Version update(String key, byte[] value, Version expected, Duration ttl) {
        return blocking(OpType.UPDATE, key, value,
                Objects.requireNonNull(expected, "expected"), ttlMillis(ttl));
    }

    /**
     * Writes a delete marker; completes with its version. Best effort:
     * succeeds whether or not the key existed. {@link #create} works on the
     * key again afterwards.
     */
    public CompletableFuture<Version> deleteAsync(String key) {
        return submit(OpType.DELETE, key, null, null);
    }

    /** Blocking {@link #deleteAsync}. */
    public Version delete(String key) {
        return blocking(OpType.DELETE, key, null, null);
    }

    /** {@link #deleteAsync} whose marker goes away after {@code ttl} ({@link Feature#TTL_ON_WRITE}). */
    public CompletableFuture<Version> deleteAsync(String key, Duration ttl) {
        return submit(OpType.DELETE, key, null, null, ttlMillis(ttl));
    }

    /** Blocking {@link #deleteAsync(String, Duration)}. */
    public Version delete(String key, Duration ttl) {
        return blocking(OpType.DELETE, key, null, null, ttlMillis(ttl));
    }

    /**
     * Logical delete under compare-and-set: writes an empty value only if the
     * key's latest version is {@code expected}, else {@link ConflictException}
     * (also for a key that never existed). {@link #get} then finds nothing,
     * {@link #getEntry} shows the empty value, and {@link #create} keeps
     * refusing the key until someone {@link #update}s over the tombstone's version.
     */
    public CompletableFuture<Version> deleteWithVersionAsync(String key, Version expected) {
        return submit(OpType.DELETE_WITH_VERSION, key, null,
                Objects.requireNonNull(expected, "expected"));
    }

    /** Blocking {@link #deleteWithVersionAsync}. */
    public Version deleteWithVersion(String key, Version expected) {
        return blocking(OpType.DELETE_WITH_VERSION, key, null,
                Objects.requireNonNull(expected, "expected"));
    }

    /** Writes a purge marker that drops the key's history; completes with its version. */
    public CompletableFuture<Version> purgeAsync(String key) {
        return submit(OpType.PURGE, key, null, null);
    }

    /** Blocking {@link #purgeAsync}. */
    public Version purge(String key) {
        return blocking(OpType.PURGE, key, null, null);
    }

    /** {@link #purgeAsync} whose purge marker itself goes away after {@code ttl} ({@link Feature#TTL}). */
    public CompletableFuture<Version> purgeAsync(String key, Duration ttl) {
        return submit(OpType.PURGE, key, null, null, ttlMillis(ttl));
    }

    /** Blocking {@link #purgeAsync(String, Duration)}. */
    public Version purge(String key, Duration ttl) {
        return blocking(OpType.PURGE, key, null, null, ttlMillis(ttl));
    }

    // ------------------------------------------------------------ reads

    /**
     * The key's live value, or empty when the key was never written, is
     * deleted or purged, or holds an empty value.
     */
    public CompletableFuture<Optional<Entry>> getAsync(String key) {
        return submit(OpType.GET, key, null, null);
    }

    /** Blocking {@link #getAsync}. */
    public Optional<Entry> get(String key) {
        return blocking(OpType.GET, key, null, null);
    }

    /**
     * The key's latest record as it is — a value (possibly the empty
     * tombstone), a DELETE or a PURGE marker — with its version, so a caller
     * can compare-and-set over it. Empty only when the key holds no record.
     */
    public CompletableFuture<Optional<Entry>> getEntryAsync(String key) {
        return submit(OpType.GET_ENTRY, key, null, null);
    }

    /** Blocking {@link #getEntryAsync}. */
    public Optional<Entry> getEntry(String key) {
        return blocking(OpType.GET_ENTRY, key, null, null);
    }

    /**
     * {@link #getAsync} that sees at least version {@code min} of the key: a
     * version another process got from its write. A replica that is behind
     * is bypassed (the stream leader is asked, again until the op timeout
     * while it is behind too; then {@link KvwTimeoutException}). An unknown
     * {@code min} fails the future with {@link InvalidVersionException}.
     */
    public CompletableFuture<Optional<Entry>> getAtLeastAsync(String key, Version min) {
        return submit(OpType.GET, key, null, Objects.requireNonNull(min, "min"));
    }

    /** Blocking {@link #getAtLeastAsync}. */
    public Optional<Entry> getAtLeast(String key, Version min) {
        return blocking(OpType.GET, key, null, Objects.requireNonNull(min, "min"));
    }

    /** {@link #getEntryAsync} that sees at least version {@code min} (see {@link #getAtLeastAsync}). */
    public CompletableFuture<Optional<Entry>> getEntryAtLeastAsync(String key, Version min) {
        return submit(OpType.GET_ENTRY, key, null, Objects.requireNonNull(min, "min"));
    }

    /** Blocking {@link #getEntryAtLeastAsync}. */
    public Optional<Entry> getEntryAtLeast(String key, Version min) {
        return blocking(OpType.GET_ENTRY, key, null,
                Objects.requireNonNull(min, "min"));
    }

    // ------------------------------------------------------------ multi-key reads

    /** Most keys one {@link #getMany} reads. */
    public static final int GET_MANY_MAX = kvw_nativeConstants.KVW_GET_MANY_MAX;

    /**
     * The latest record of up to {@link #GET_MANY_MAX} keys as of one point of
     * the bucket's history (nats-server 2.11+, {@link Feature#GET_MANY}): a
     * consistent snapshot whose versions a {@link Transaction}'s updates can
     * expect (read-modify-write across keys). Refusals as for the other ops
     * (a key with a newline is an {@link InvalidKeyException}).
     */
    public CompletableFuture<Snapshot> getManyAsync(String... keys) {
        String joined = joinKeys(keys);
        return submitWith(OpType.GET_MANY, null, id -> joined == null ? kvw_nativeConstants.KVW_EBADKEY
                : kvw_native.kvwb_get_many(handle, joined, keys.length, id));
    }

    /** Blocking {@link #getManyAsync}. */
    public Snapshot getMany(String... keys) {
        String joined = joinKeys(keys);
        if (joined == null) throw refusal(kvw_nativeConstants.KVW_EBADKEY, OpType.GET_MANY, null);
        return blocking(OpType.GET_MANY, null, call -> kvw_native.kvwb_call_get_many(call, handle, joined, keys.length));
    }

    /** "k1\nk2\n" (no valid key holds a newline), or null when one does. */
    private static String joinKeys(String[] keys) {
        Objects.requireNonNull(keys, "keys");
        StringBuilder b = new StringBuilder();
        for (String k : keys) {
            if (Objects.requireNonNull(k, "key").indexOf('\n') >= 0 || k.indexOf('\0') >= 0) return null;
            b.append(k).append('\n');
        }
        return b.toString();
    }

    // ------------------------------------------------------------ transactions

    /**
     * A new transaction on this bucket (nats-server 2.12+, a bucket with
     * {@link Feature#ATOMIC_BATCH}: {@link BucketOptions.Builder#allowAtomic}).
     *
     * @throws NotSupportedException when the bucket cannot take one; its
     *         message is {@link #featureStatus}
     */
    public Transaction transaction() {
        return new Transaction(this);
    }

    kvwb_bucket handle() {
        return handle;
    }

    // ------------------------------------------------------------ internals

    /** A TTL as kvw's milliseconds; values kvw refuses stay refusable (never NO_TTL). */
    private static long ttlMillis(Duration ttl) {
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.equals(TTL_NEVER)) return kvw_nativeConstants.KVW_TTL_NEVER;
        if (ttl.isZero() || ttl.isNegative()) return -2; // refused: InvalidTtlException
        long ms = ClientOptions.millis(ttl);
        return ms == NO_TTL ? -2 : ms;
    }

    private <T> T blocking(OpType op, String key, byte[] value, Version expected) {
        return blocking(op, key, value, expected, NO_TTL);
    }

    private <T> T blocking(OpType op, String key, byte[] value, Version expected, long ttl) {
        Objects.requireNonNull(key, "key");
        byte[] bytes = value == null && (op == OpType.PUT || op == OpType.CREATE || op == OpType.UPDATE) ? EMPTY : value;
        return blocking(op, key, call -> kvw_native.kvwb_call_start(call, handle, op.code(), key, bytes,
                expected == null ? null : expected.toString(), ttl));
    }

    /**
     * A blocking call through a kvwb_call (`start` submits the op on it): the
     * outcome comes from the C thread that learns it, not through the
     * dispatcher thread, so it is one thread hop from the ack and works on
     * any thread (a completion stage included).
     */
    @SuppressWarnings("unchecked")
    <T> T blocking(OpType op, String key, java.util.function.ToIntFunction<kvwb_call> start) {
        kvwb_call call = kvw_native.kvwb_call_new();
        if (call == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), op, key);
        try {
            int rc = start.applyAsInt(call);
            if (rc != 0) throw refusal(rc, op, key);
            kvw_native.kvwb_call_wait(call, -1); // every accepted op ends, at the latest at its deadline
            kvwb_completion r = kvw_native.kvwb_call_result(call);
            if (r == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), op, key);
            Object outcome;
            try {
                outcome = KvwClient.outcome(r);
            } finally {
                r.delete();
            }
            if (outcome instanceof KvwException) throw ((KvwException) outcome).withCallerStack();
            return (T) outcome;
        } finally {
            call.delete();
            // Reachable until the op has ended: an unreachable client would be
            // closed by its cleaner, which ends the op with ClosedException.
            java.lang.ref.Reference.reachabilityFence(this);
        }
    }

    /** A submit's refusal, with the feature's status for KVW_ENOTSUP. */
    KvwException refusal(int rc, OpType op, String key) {
        String detail = rc != kvw_nativeConstants.KVW_ENOTSUP ? Native.strerror(rc)
                : featureStatus(op == OpType.TXN ? Feature.ATOMIC_BATCH : op == OpType.GET_MANY ? Feature.GET_MANY
                        : op == OpType.CREATE || op == OpType.PURGE ? Feature.TTL : Feature.TTL_ON_WRITE);
        return KvwException.create(rc, detail, op, key, 0, null, true);
    }

    private <T> CompletableFuture<T> submit(OpType op, String key, byte[] value, Version expected) {
        return submit(op, key, value, expected, NO_TTL);
    }

    private <T> CompletableFuture<T> submit(OpType op, String key, byte[] value, Version expected, long ttl) {
        Objects.requireNonNull(key, "key");
        byte[] bytes = value == null && (op == OpType.PUT || op == OpType.CREATE || op == OpType.UPDATE) ? EMPTY : value;
        return submitWith(op, key, id -> ttl == NO_TTL ? call(op, key, bytes, expected, id)
                : callTtl(op, key, bytes, expected, ttl, id));
    }

    /**
     * Registers a future under a new op id and submits the op with {@code call}
     * (a kvwb_* submit given that id); a refusal fails the future at once.
     */
    <T> CompletableFuture<T> submitWith(OpType op, String key, java.util.function.LongToIntFunction call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        long id = client.register(f);
        int rc;
        try {
            rc = call.applyAsInt(id);
        } catch (RuntimeException | Error e) { // e.g. OutOfMemoryError copying the arguments
            client.forget(id);
            throw e;
        }
        if (rc != 0) client.refused(id, f, refusal(rc, op, key));
        return f;
    }

    private int callTtl(OpType op, String key, byte[] value, Version expected, long ttl, long id) {
        switch (op) {
            case PUT:
                return kvw_native.kvwb_put_ttl(handle, key, value, ttl, id);
            case CREATE:
                return kvw_native.kvwb_create_ttl(handle, key, value, ttl, id);
            case UPDATE:
                return kvw_native.kvwb_update_ttl(handle, key, value, expected.toString(), ttl, id);
            case PURGE:
                return kvw_native.kvwb_purge_ttl(handle, key, ttl, id);
            case DELETE:
                return kvw_native.kvwb_delete_ttl(handle, key, ttl, id);
            default:
                throw new IllegalArgumentException("no TTL on " + op);
        }
    }

    private int call(OpType op, String key, byte[] value, Version expected, long id) {
        int rc;
        switch (op) {
            case PUT:
                rc = kvw_native.kvwb_put(handle, key, value, id);
                break;
            case CREATE:
                rc = kvw_native.kvwb_create(handle, key, value, id);
                break;
            case UPDATE:
                rc = kvw_native.kvwb_update(handle, key, value, expected.toString(), id);
                break;
            case DELETE:
                rc = kvw_native.kvwb_delete(handle, key, id);
                break;
            case DELETE_WITH_VERSION:
                rc = kvw_native.kvwb_delete_with_version(handle, key, expected.toString(), id);
                break;
            case PURGE:
                rc = kvw_native.kvwb_purge(handle, key, id);
                break;
            case GET: // expected: the version the read must see at least, if any
                rc = expected == null ? kvw_native.kvwb_get(handle, key, id)
                        : kvw_native.kvwb_get_at_least(handle, key, expected.toString(), id);
                break;
            default:
                rc = expected == null ? kvw_native.kvwb_get_entry(handle, key, id)
                        : kvw_native.kvwb_get_entry_at_least(handle, key, expected.toString(), id);
                break;
        }
        return rc;
    }
}
