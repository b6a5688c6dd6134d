package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvwb_bucket;
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
 * copied before the call returns, so the array may be reused at once. Ops on
 * one key submitted from one thread reach the server in submission order.
 */
public final class Bucket implements AutoCloseable {
    private final KvwClient client;
    private final kvwb_bucket handle;
    private final String name;
    private volatile boolean closed;

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

    // ------------------------------------------------------------ writes

    /** Stores {@code value} under {@code key}; completes with the new version. */
    public CompletableFuture<Version> putAsync(String key, byte[] value) {
        return submit(new CompletableFuture<>(), OpType.PUT, key, value, null);
    }

    /** Blocking {@link #putAsync}. */
    public Version put(String key, byte[] value) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.PUT, key, value, null));
    }

    /**
     * Stores {@code value} only if {@code key} has no live value: never
     * written, or deleted / purged with {@link #delete} / {@link #purge}.
     * Fails with {@link AlreadyExistsException} when it holds a value,
     * including the empty-value tombstone of {@link #deleteWithVersion}. Of
     * two racing creators exactly one wins.
     */
    public CompletableFuture<Version> createAsync(String key, byte[] value) {
        return submit(new CompletableFuture<>(), OpType.CREATE, key, value, null);
    }

    /** Blocking {@link #createAsync}. */
    public Version create(String key, byte[] value) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.CREATE, key, value, null));
    }

    /**
     * Stores {@code value} only if the key's latest version is
     * {@code expected}; else {@link ConflictException} (also for a key that
     * never existed). {@link InvalidVersionException} for {@link Version#UNKNOWN}.
     */
    public CompletableFuture<Version> updateAsync(String key, byte[] value, Version expected) {
        return submit(new CompletableFuture<>(), OpType.UPDATE, key, value,
                Objects.requireNonNull(expected, "expected"));
    }

    /** Blocking {@link #updateAsync}. */
    public Version update(String key, byte[] value, Version expected) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.UPDATE, key, value,
                Objects.requireNonNull(expected, "expected")));
    }

    /**
     * Writes a delete marker; completes with its version. Best effort:
     * succeeds whether or not the key existed. {@link #create} works on the
     * key again afterwards.
     */
    public CompletableFuture<Version> deleteAsync(String key) {
        return submit(new CompletableFuture<>(), OpType.DELETE, key, null, null);
    }

    /** Blocking {@link #deleteAsync}. */
    public Version delete(String key) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.DELETE, key, null, null));
    }

    /**
     * Logical delete under compare-and-set: writes an empty value only if the
     * key's latest version is {@code expected}, else {@link ConflictException}
     * (also for a key that never existed). {@link #get} then finds nothing,
     * {@link #getEntry} shows the empty value, and {@link #create} keeps
     * refusing the key until someone {@link #update}s over the tombstone's version.
     */
    public CompletableFuture<Version> deleteWithVersionAsync(String key, Version expected) {
        return submit(new CompletableFuture<>(), OpType.DELETE_WITH_VERSION, key, null,
                Objects.requireNonNull(expected, "expected"));
    }

    /** Blocking {@link #deleteWithVersionAsync}. */
    public Version deleteWithVersion(String key, Version expected) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.DELETE_WITH_VERSION, key, null,
                Objects.requireNonNull(expected, "expected")));
    }

    /** Writes a purge marker that drops the key's history; completes with its version. */
    public CompletableFuture<Version> purgeAsync(String key) {
        return submit(new CompletableFuture<>(), OpType.PURGE, key, null, null);
    }

    /** Blocking {@link #purgeAsync}. */
    public Version purge(String key) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.PURGE, key, null, null));
    }

    // ------------------------------------------------------------ reads

    /**
     * The key's live value, or empty when the key was never written, is
     * deleted or purged, or holds an empty value.
     */
    public CompletableFuture<Optional<Entry>> getAsync(String key) {
        return submit(new CompletableFuture<>(), OpType.GET, key, null, null);
    }

    /** Blocking {@link #getAsync}. */
    public Optional<Entry> get(String key) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.GET, key, null, null));
    }

    /**
     * The key's latest record as it is — a value (possibly the empty
     * tombstone), a DELETE or a PURGE marker — with its version, so a caller
     * can compare-and-set over it. Empty only when the key holds no record.
     */
    public CompletableFuture<Optional<Entry>> getEntryAsync(String key) {
        return submit(new CompletableFuture<>(), OpType.GET_ENTRY, key, null, null);
    }

    /** Blocking {@link #getEntryAsync}. */
    public Optional<Entry> getEntry(String key) {
        return client.await(submit(new KvwClient.Direct<>(), OpType.GET_ENTRY, key, null, null));
    }

    // ------------------------------------------------------------ internals

    private <T> CompletableFuture<T> submit(CompletableFuture<T> f, OpType op, String key, byte[] value,
                                            Version expected) {
        Objects.requireNonNull(key, "key");
        if (op == OpType.PUT || op == OpType.CREATE || op == OpType.UPDATE) Objects.requireNonNull(value, "value");
        long id = client.register(f);
        int rc;
        try {
            rc = call(op, key, value, expected, id);
        } catch (RuntimeException | Error e) { // e.g. OutOfMemoryError copying the arguments
            client.forget(id);
            throw e;
        }
        if (rc != 0) client.refused(id, f, rc, op, key);
        return f;
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
            case GET:
                rc = kvw_native.kvwb_get(handle, key, id);
                break;
            default:
                rc = kvw_native.kvwb_get_entry(handle, key, id);
                break;
        }
        return rc;
    }
}
