package io.kvw;

/** The kvw operation a result or an error belongs to. */
public enum OpType {
    PUT(1), CREATE(2), UPDATE(3), DELETE(4), DELETE_WITH_VERSION(5), PURGE(6), GET(7), GET_ENTRY(8),
    /** A {@link Transaction}'s commit. */
    TXN(9),
    /** {@link Bucket#getMany}. */
    GET_MANY(10);

    private final int code;

    OpType(int code) {
        this.code = code;
    }

    /** The C value ({@code KVW_OP_*}). */
    public int code() {
        return code;
    }

    /** True for the six writes. */
    public boolean isWrite() {
        return code <= 6;
    }

    /** The constant for a {@code KVW_OP_*} value, or null. */
    public static OpType of(int code) {
        return code >= 1 && code <= 10 ? values()[code - 1] : null;
    }
}
