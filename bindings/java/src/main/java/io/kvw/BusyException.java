package io.kvw;

/** KVW_EBUSY: the client's in-flight window ({@link ClientOptions.Builder#maxInflight}) is full. Nothing was sent; retry after some completions. */
public class BusyException extends KvwException {
    private static final long serialVersionUID = 1L;

    BusyException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
