package io.kvw;

/** KVW_EBADKEY: the key is not a valid NATS KV key (1..1024 bytes of [-/_=.a-zA-Z0-9], no leading or trailing dot, no empty token). Nothing was sent. */
public class InvalidKeyException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidKeyException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
