package io.kvw;

/** KVW_EBADTTL: a TTL below 1 s, not whole seconds, or too large. */
public class InvalidTtlException extends KvwException {
    private static final long serialVersionUID = 1L;

    InvalidTtlException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
