package io.kvw;

/** KVW_EBADVERSION: the version is unknown, not a NATS revision, or its text does not parse. Nothing was sent. */
public class InvalidVersionException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidVersionException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
