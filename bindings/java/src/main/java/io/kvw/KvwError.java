package io.kvw;

/**
 * kvw's error codes (the negative {@code KVW_E*} values of {@code kvw.h}).
 * Every {@link KvwException} carries one; each code has its own exception
 * class (see {@link KvwException#error()}).
 */
public enum KvwError {
    /** KVW_EINVAL: invalid argument (bad option value…). */
    INVALID_ARGUMENT(-1),
    /** KVW_EBADKEY: the key is not a valid NATS KV key. */
    INVALID_KEY(-2),
    /** KVW_EBADNAME: the bucket name is not [A-Za-z0-9_-]+. */
    INVALID_BUCKET_NAME(-3),
    /** KVW_EBADVERSION: the version token is unknown or not a revision. */
    INVALID_VERSION(-4),
    /** KVW_ETOOBIG: the value is larger than the server or bucket accepts. */
    VALUE_TOO_LARGE(-5),
    /** KVW_EEXIST: create found a live value. */
    ALREADY_EXISTS(-6),
    /** KVW_ECONFLICT: the expected version is not the key's last (JetStream 10071). */
    CONFLICT(-7),
    /** KVW_ENOTFOUND: no live value (get) / no record (get_entry). */
    NOT_FOUND(-8),
    /** KVW_ETIMEDOUT: no answer in time; a write may have landed. */
    TIMEOUT(-9),
    /** KVW_ENOTCONN: no connection to any server. */
    NOT_CONNECTED(-10),
    /** KVW_ENOBUCKET: the bucket does not exist. */
    NO_SUCH_BUCKET(-11),
    /** KVW_EFULL: the bucket or the server's storage is full. */
    BUCKET_FULL(-12),
    /** KVW_ECLOSED: the client or bucket is closed; pending ops end with this. */
    CLOSED(-13),
    /** KVW_EBUSY: the in-flight window is full; retry after completions. */
    BUSY(-14),
    /** KVW_ENOMEM: out of memory (native side). */
    OUT_OF_MEMORY(-15),
    /** KVW_EAUTH: authentication failed. */
    AUTHENTICATION(-16),
    /** KVW_EPERM: the server refused: permission denied. */
    PERMISSION_DENIED(-17),
    /** KVW_ETLS: TLS set-up or handshake failed. */
    TLS(-18),
    /** KVW_ESERVER: another server / JetStream error; see {@link KvwException#serverErrorCode()}. */
    SERVER(-19),
    /** KVW_EINTERNAL: an unexpected client-side failure. */
    INTERNAL(-20),
    /** KVW_ENOTSUP: the server or bucket cannot do this; the message says what is missing. */
    NOT_SUPPORTED(-21),
    /** KVW_EBADTTL: a TTL below 1 s, not whole seconds, or too large. */
    INVALID_TTL(-22),
    /** A code this binding does not know (a newer libkvw). */
    UNKNOWN(Integer.MIN_VALUE);

    private final int code;

    KvwError(int code) {
        this.code = code;
    }

    /** The C code, e.g. -7 for {@link #CONFLICT}. */
    public int code() {
        return code;
    }

    /** The constant for a C code; {@link #UNKNOWN} for one not listed here. */
    public static KvwError of(int code) {
        if (code <= -1 && code >= -22) return values()[-code - 1];
        return UNKNOWN;
    }
}
