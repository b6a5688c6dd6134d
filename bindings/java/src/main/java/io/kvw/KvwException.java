package io.kvw;

import io.kvw.internal.kvw_native;
import java.util.Optional;

/**
 * A kvw operation failed. Unchecked, so it travels through
 * {@link java.util.concurrent.CompletableFuture}s unchanged: a failed async op
 * completes its future exceptionally with one of these (a blocking method
 * throws it directly).
 *
 * <p>Each {@link KvwError} has its own subclass — {@link ConflictException},
 * {@link AlreadyExistsException}, {@link KvwTimeoutException},
 * {@link ClosedException}, {@link BusyException}, {@link InvalidKeyException}…
 * — so callers can catch exactly what they handle. {@link #isRetryable()} and
 * {@link #isOutcomeUnknown()} say what a failure means for the caller: an
 * outcome-unknown write (timeout, or cancelled at close after it was sent) may
 * nevertheless have been stored; read the key back before deciding.
 */
public class KvwException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int code;
    private final String detail;
    private final OpType op;
    private final String key;
    private final int serverError;
    private final Version currentVersion;

    /**
     * @param code           a negative KVW_E* code
     * @param detail         kvw's message for this failure
     * @param op             the operation, or null (open, connect)
     * @param key            the op's key, or null
     * @param serverError    JetStream's err_code, 0 if none
     * @param currentVersion the key's current version when the server said (conflicts), or null
     * @param stackTrace     whether to capture the creating thread's stack
     */
    protected KvwException(int code, String detail, OpType op, String key, int serverError,
                           Version currentVersion, boolean stackTrace) {
        super(describe(code, detail, op, key, serverError), null, false, stackTrace);
        this.code = code;
        this.detail = detail;
        this.op = op;
        this.key = key;
        this.serverError = serverError;
        this.currentVersion = currentVersion;
    }

    private static String describe(int code, String detail, OpType op, String key, int serverError) {
        StringBuilder b = new StringBuilder();
        if (op != null) {
            b.append(op.name().toLowerCase(java.util.Locale.ROOT));
            if (key != null) b.append(" \"").append(key).append('"');
            b.append(": ");
        }
        b.append(detail == null || detail.isEmpty() ? Native.strerror(code) : detail);
        b.append(" (").append(Native.errName(code));
        if (serverError != 0) b.append(", JetStream error ").append(serverError);
        return b.append(')').toString();
    }

    /** The C code (negative), e.g. -7. */
    public int code() {
        return code;
    }

    /** The code as an enum constant. */
    public KvwError error() {
        return KvwError.of(code);
    }

    /** The code's C name, e.g. "KVW_ECONFLICT". */
    public String errorName() {
        return Native.errName(code);
    }

    /** kvw's own message (without the op, key and code that {@link #getMessage()} adds). */
    public String detail() {
        return detail;
    }

    /** The operation that failed; null for failures outside an op (connect, open). */
    public OpType op() {
        return op;
    }

    /** The key of the failed op, or null. */
    public String key() {
        return key;
    }

    /** JetStream's error code (e.g. 10071 for a wrong last sequence), 0 if none. */
    public int serverErrorCode() {
        return serverError;
    }

    /**
     * For {@link ConflictException} and {@link AlreadyExistsException}: the
     * key's current version when the server said; empty otherwise.
     */
    public Optional<Version> currentVersion() {
        return Optional.ofNullable(currentVersion);
    }

    /** True if repeating the same op later may succeed (timeout, not connected, busy). */
    public boolean isRetryable() {
        return Native.isRetryable(code);
    }

    /**
     * True if a write that failed this way may nevertheless have been stored
     * (a timeout, or a cancellation at close after the write was sent).
     */
    public boolean isOutcomeUnknown() {
        return Native.isOutcomeUnknown(code);
    }

    /** The same failure again, with the stack of the calling thread (blocking methods). */
    KvwException withCallerStack() {
        return create(code, detail, op, key, serverError, currentVersion, true);
    }

    /** The exception class for {@code code}. */
    static KvwException create(int code, String detail, OpType op, String key, int serverError,
                               Version current, boolean stack) {
        switch (KvwError.of(code)) {
            case INVALID_ARGUMENT: return new InvalidArgumentException(code, detail, op, key, serverError, current, stack);
            case INVALID_KEY: return new InvalidKeyException(code, detail, op, key, serverError, current, stack);
            case INVALID_BUCKET_NAME: return new InvalidBucketNameException(code, detail, op, key, serverError, current, stack);
            case INVALID_VERSION: return new InvalidVersionException(code, detail, op, key, serverError, current, stack);
            case VALUE_TOO_LARGE: return new ValueTooLargeException(code, detail, op, key, serverError, current, stack);
            case ALREADY_EXISTS: return new AlreadyExistsException(code, detail, op, key, serverError, current, stack);
            case CONFLICT: return new ConflictException(code, detail, op, key, serverError, current, stack);
            case NOT_FOUND: return new NotFoundException(code, detail, op, key, serverError, current, stack);
            case TIMEOUT: return new KvwTimeoutException(code, detail, op, key, serverError, current, stack);
            case NOT_CONNECTED: return new NotConnectedException(code, detail, op, key, serverError, current, stack);
            case NO_SUCH_BUCKET: return new NoSuchBucketException(code, detail, op, key, serverError, current, stack);
            case BUCKET_FULL: return new BucketFullException(code, detail, op, key, serverError, current, stack);
            case CLOSED: return new ClosedException(code, detail, op, key, serverError, current, stack);
            case BUSY: return new BusyException(code, detail, op, key, serverError, current, stack);
            case AUTHENTICATION: return new AuthenticationException(code, detail, op, key, serverError, current, stack);
            case PERMISSION_DENIED: return new PermissionDeniedException(code, detail, op, key, serverError, current, stack);
            case TLS: return new KvwTlsException(code, detail, op, key, serverError, current, stack);
            case SERVER: return new ServerException(code, detail, op, key, serverError, current, stack);
            case NOT_SUPPORTED: return new NotSupportedException(code, detail, op, key, serverError, current, stack);
            case INVALID_TTL: return new InvalidTtlException(code, detail, op, key, serverError, current, stack);
            default: return new KvwException(code, detail, op, key, serverError, current, stack);
        }
    }

    /** A refusal at submit time or from a blocking call (message from kvw_strerror). */
    static KvwException of(int code, OpType op, String key) {
        return create(code, kvw_native.kvw_strerror(code), op, key, 0, null, true);
    }
}
