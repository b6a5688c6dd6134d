package io.kvw;

/** KVW_ETIMEDOUT: no answer within the op timeout. The write may nevertheless have landed ({@link #isOutcomeUnknown()} is true). Named so as not to be confused with {@link java.util.concurrent.TimeoutException}, which kvw never throws. */
public class KvwTimeoutException extends KvwException {
    private static final long serialVersionUID = 1L;

    KvwTimeoutException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
