package io.kvw;

/** KVW_ETOOBIG: the value is larger than the server or bucket accepts ({@link Bucket#maxValueSize()}). Nothing was sent. */
public class ValueTooLargeException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    ValueTooLargeException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
