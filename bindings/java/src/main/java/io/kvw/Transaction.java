package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvw_nativeConstants;
import io.kvw.internal.kvwb_txn;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Writes on one bucket that {@link #commit} stores all together or not at
 * all, as one atomic batch (nats-server 2.12+, a bucket with
 * {@link Feature#ATOMIC_BATCH}). Made by {@link Bucket#transaction()}.
 *
 * <p>Each write means what its {@link Bucket} method means, checked against
 * the keys as they were before the transaction: {@link #create} succeeds on a
 * key without a live value (also over a delete marker); {@link #update} and
 * {@link #deleteWithVersion} need the key's latest version to be
 * {@code expected}. A refused commit fails with {@link ConflictException} (or
 * {@link AlreadyExistsException} for a create) whose {@code key()} and
 * {@code currentVersion()} name the key and its version when the server's
 * answer says; nothing was stored. {@link KvwTimeoutException}: all or
 * nothing was stored, never a part.
 *
 * <p>Not thread-safe. Once a commit is accepted the transaction is empty and
 * may be reused; a refused one keeps its writes. Null keys and versions throw
 * {@link NullPointerException}; a null value is an empty one.
 */
public final class Transaction implements AutoCloseable {
    /** Most writes one transaction may hold (the server's batch limit). */
    public static final int MAX_WRITES = kvw_nativeConstants.KVW_TXN_MAX_WRITES;
    private static final byte[] EMPTY = new byte[0];

    private final Bucket bucket;
    private final kvwb_txn handle;

    Transaction(Bucket bucket) {
        this.bucket = bucket;
        kvwb_txn h = kvw_native.kvwb_txn_new();
        if (h == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), OpType.TXN, null);
        int rc = kvw_native.kvwb_txn_open(h, bucket.handle());
        if (rc != 0) {
            h.delete();
            throw bucket.refusal(rc, OpType.TXN, null);
        }
        handle = h;
    }

    /** Adds a write of {@code value} under {@code key}. */
    public Transaction put(String key, byte[] value) {
        return added(OpType.PUT, key, kvw_native.kvwb_txn_put(handle, Objects.requireNonNull(key, "key"), bytes(value)));
    }

    /** Adds a write that needs {@code key} to hold no live value. */
    public Transaction create(String key, byte[] value) {
        return added(OpType.CREATE, key,
                kvw_native.kvwb_txn_create(handle, Objects.requireNonNull(key, "key"), bytes(value)));
    }

    /**
     * Adds a write that needs {@code key}'s latest version to be
     * {@code expected}. {@link InvalidArgumentException} when this transaction
     * already writes the key (an expectation cannot be checked after that).
     */
    public Transaction update(String key, byte[] value, Version expected) {
        return added(OpType.UPDATE, key, kvw_native.kvwb_txn_update(handle, Objects.requireNonNull(key, "key"),
                bytes(value), Objects.requireNonNull(expected, "expected").toString()));
    }

    /** Adds a delete marker for {@code key}. */
    public Transaction delete(String key) {
        return added(OpType.DELETE, key, kvw_native.kvwb_txn_delete(handle, Objects.requireNonNull(key, "key")));
    }

    /** Adds an empty value (a tombstone) that needs {@code key}'s latest version to be {@code expected}. */
    public Transaction deleteWithVersion(String key, Version expected) {
        return added(OpType.DELETE_WITH_VERSION, key, kvw_native.kvwb_txn_delete_with_version(handle,
                Objects.requireNonNull(key, "key"), Objects.requireNonNull(expected, "expected").toString()));
    }

    /** Writes added since it was made or last committed. */
    public int size() {
        return Math.max(kvw_native.kvwb_txn_len(handle), 0);
    }

    /**
     * Commits: the future completes with each write's new version, in the
     * order added, or fails (see the class comment). A commit kvw refuses at
     * once (no writes, window full, client closed) gives an already-failed
     * future and keeps the writes.
     */
    public CompletableFuture<List<Version>> commitAsync() {
        return bucket.submitWith(OpType.TXN, null, id -> kvw_native.kvwb_txn_commit(handle, id));
    }

    /** Blocking {@link #commitAsync}: the versions, or throws the failure. */
    public List<Version> commit() {
        try {
            return bucket.blocking(OpType.TXN, null, call -> kvw_native.kvwb_call_commit(call, handle));
        } finally {
            java.lang.ref.Reference.reachabilityFence(this);
        }
    }

    /** Drops the uncommitted writes and releases the native handle (a commit in flight goes on). */
    @Override
    public void close() {
        handle.delete();
    }

    /** The versions of a committed transaction's writes: first, first + 1, ... */
    static List<Version> versions(long first, long count) {
        List<Version> vs = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) vs.add(Version.ofRevision(first + i));
        return Collections.unmodifiableList(vs);
    }

    private static byte[] bytes(byte[] value) {
        return value == null ? EMPTY : value;
    }

    private Transaction added(OpType op, String key, int rc) {
        if (rc == 0) return this;
        String detail = rc == kvw_nativeConstants.KVW_EINVAL
                ? "this transaction already writes '" + key + "': an expected version cannot be checked after that"
                : rc == kvw_nativeConstants.KVW_ETOOBIG
                        ? "value too large, or the transaction holds " + MAX_WRITES + " writes"
                        : Native.strerror(rc);
        throw KvwException.create(rc, detail, op, key, 0, null, true);
    }
}
