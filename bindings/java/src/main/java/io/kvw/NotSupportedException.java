package io.kvw;

/** KVW_ENOTSUP: the server or bucket cannot do this (e.g. per-key TTL before nats-server 2.11); the message says what is missing. */
public class NotSupportedException extends KvwException {
    private static final long serialVersionUID = 1L;

    NotSupportedException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
