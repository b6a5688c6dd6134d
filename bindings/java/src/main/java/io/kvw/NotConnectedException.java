package io.kvw;

/** KVW_ENOTCONN: no connection to any server (retryable). */
public class NotConnectedException extends KvwException {
    private static final long serialVersionUID = 1L;

    NotConnectedException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
