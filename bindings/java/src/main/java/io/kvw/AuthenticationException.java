package io.kvw;

/** KVW_EAUTH: the server refused the credentials. */
public class AuthenticationException extends KvwException {
    private static final long serialVersionUID = 1L;

    AuthenticationException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
