package io.kvw;

/** KVW_ENOBUCKET: the bucket does not exist (open it with {@link BucketOptions.Builder#createIfMissing}). */
public class NoSuchBucketException extends KvwException {
    private static final long serialVersionUID = 1L;

    NoSuchBucketException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
