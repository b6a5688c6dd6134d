package io.kvw;

/** KVW_ENOTFOUND. {@link Bucket#get} and {@link Bucket#getEntry} report "not found" as an empty {@link java.util.Optional} instead; this class exists for completeness of the mapping. */
public class NotFoundException extends KvwException {
    private static final long serialVersionUID = 1L;

    NotFoundException(int code, String detail, OpType op, String key, int serverError, Version current, boolean stack) {
        super(code, detail, op, key, serverError, current, stack);
    }
}
