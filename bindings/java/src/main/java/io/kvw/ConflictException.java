package io.kvw;

/** A compare-and-set refused (KVW_ECONFLICT, JetStream error 10071): the expected version is not the key's latest — also for a key that never existed. {@link #currentVersion()} is the latest version when the server said. */
public class ConflictException extends KvwException {
    private static final long serialVersionUID = 1L;

    ConflictException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
