package io.kvw;

/** KVW_ESERVER: another server or JetStream error; {@link #serverErrorCode()} has JetStream's code. */
public class ServerException extends KvwException {
    private static final long serialVersionUID = 1L;

    ServerException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
