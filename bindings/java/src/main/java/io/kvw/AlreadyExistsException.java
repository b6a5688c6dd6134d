package io.kvw;

/** <code>create</code> refused: the key holds a live value (KVW_EEXIST), including the empty-value tombstone that {@link Bucket#deleteWithVersion} leaves. {@link #currentVersion()} is the value's version when the server said. */
public class AlreadyExistsException extends KvwException {
    private static final long serialVersionUID = 1L;

    AlreadyExistsException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
