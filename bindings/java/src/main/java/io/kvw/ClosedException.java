package io.kvw;

/** KVW_ECLOSED: the client or bucket is closed. Ops pending at {@link KvwClient#close()} complete with this (unless their real outcome was already in); for a write that was already sent {@link #isOutcomeUnknown()} is true. */
public class ClosedException extends KvwException {
    private static final long serialVersionUID = 1L;

    ClosedException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
