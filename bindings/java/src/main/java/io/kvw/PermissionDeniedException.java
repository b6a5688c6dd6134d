package io.kvw;

/** KVW_EPERM: the server refused the operation: permission denied. */
public class PermissionDeniedException extends KvwException {
    private static final long serialVersionUID = 1L;

    PermissionDeniedException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
