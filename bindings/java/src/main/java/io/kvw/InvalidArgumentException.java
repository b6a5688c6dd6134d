package io.kvw;

/** KVW_EINVAL: an argument or option value was refused before anything was sent. The more precise refusals (key, bucket name, version, value size) are its subclasses. */
public class InvalidArgumentException extends KvwException {
    private static final long serialVersionUID = 1L;

    InvalidArgumentException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
