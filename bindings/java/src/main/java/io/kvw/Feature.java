package io.kvw;

/**
 * What a bucket can do depending on the server's version and the bucket's
 * stream configuration (see {@link Bucket#supports} and {@link Bucket#featureStatus}).
 */
public enum Feature {
    /** create/purge with a TTL: nats-server 2.11+ and a bucket with TTL support. */
    TTL(1),
    /** put/update with a TTL: {@link #TTL} and history 1. */
    TTL_ON_WRITE(2),
    /** keys that age out leave a purge marker (limit marker TTL set). */
    LIMIT_MARKERS(3),
    /** transactions ({@link Bucket#transaction}): the bucket's stream allows atomic batches (2.12+). */
    ATOMIC_BATCH(4),
    /** the bucket's stream allows fast-ingest batches (2.14+). */
    FAST_BATCH(5),
    /** {@link Bucket#getMany}: nats-server 2.11+ and direct gets (not {@link ReadMode#LEADER}). */
    GET_MANY(6);

    final int code;

    Feature(int code) {
        this.code = code;
    }
}
