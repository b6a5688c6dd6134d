package io.kvw;

/**
 * How a bucket handle's reads see the replicas of a replicated bucket
 * ({@link BucketOptions.Builder#readMode}; kvw.h, READS).
 */
public enum ReadMode {
    /**
     * A direct get older than a version this client has already seen for the
     * key is read again through the stream leader: a read sees every write
     * whose future completed before it, and never goes back in time.
     */
    CHECKED(0),
    /** Any replica answers (fastest; may go back in time on a replicated bucket). */
    DIRECT(1),
    /** Every read goes to the stream leader. */
    LEADER(2);

    final int code;

    ReadMode(int code) {
        this.code = code;
    }
}
