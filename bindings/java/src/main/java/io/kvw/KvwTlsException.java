package io.kvw;

/** KVW_ETLS: TLS set-up or handshake failed. */
public class KvwTlsException extends KvwException {
    private static final long serialVersionUID = 1L;

    KvwTlsException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
