package io.kvw;

/** KVW_EFULL: the bucket or the server's storage is full. */
public class BucketFullException extends KvwException {
    private static final long serialVersionUID = 1L;

    BucketFullException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
