package io.kvw;

/** KVW_EBADNAME: the bucket name is not [A-Za-z0-9_-]+. */
public class InvalidBucketNameException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidBucketNameException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
