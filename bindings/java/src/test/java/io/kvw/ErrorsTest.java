package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvw_nativeConstants;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Error codes, names and the exception class of each (no server). */
class ErrorsTest {

    @Test
    void codesMatchTheCHeader() {
        assertEquals(kvw_nativeConstants.KVW_EINVAL, KvwError.INVALID_ARGUMENT.code());
        assertEquals(kvw_nativeConstants.KVW_EBADKEY, KvwError.INVALID_KEY.code());
        assertEquals(kvw_nativeConstants.KVW_EBADNAME, KvwError.INVALID_BUCKET_NAME.code());
        assertEquals(kvw_nativeConstants.KVW_EBADVERSION, KvwError.INVALID_VERSION.code());
        assertEquals(kvw_nativeConstants.KVW_ETOOBIG, KvwError.VALUE_TOO_LARGE.code());
        assertEquals(kvw_nativeConstants.KVW_EEXIST, KvwError.ALREADY_EXISTS.code());
        assertEquals(kvw_nativeConstants.KVW_ECONFLICT, KvwError.CONFLICT.code());
        assertEquals(kvw_nativeConstants.KVW_ENOTFOUND, KvwError.NOT_FOUND.code());
        assertEquals(kvw_nativeConstants.KVW_ETIMEDOUT, KvwError.TIMEOUT.code());
        assertEquals(kvw_nativeConstants.KVW_ENOTCONN, KvwError.NOT_CONNECTED.code());
        assertEquals(kvw_nativeConstants.KVW_ENOBUCKET, KvwError.NO_SUCH_BUCKET.code());
        assertEquals(kvw_nativeConstants.KVW_EFULL, KvwError.BUCKET_FULL.code());
        assertEquals(kvw_nativeConstants.KVW_ECLOSED, KvwError.CLOSED.code());
        assertEquals(kvw_nativeConstants.KVW_EBUSY, KvwError.BUSY.code());
        assertEquals(kvw_nativeConstants.KVW_ENOMEM, KvwError.OUT_OF_MEMORY.code());
        assertEquals(kvw_nativeConstants.KVW_EAUTH, KvwError.AUTHENTICATION.code());
        assertEquals(kvw_nativeConstants.KVW_EPERM, KvwError.PERMISSION_DENIED.code());
        assertEquals(kvw_nativeConstants.KVW_ETLS, KvwError.TLS.code());
        assertEquals(kvw_nativeConstants.KVW_ESERVER, KvwError.SERVER.code());
        assertEquals(kvw_nativeConstants.KVW_EINTERNAL, KvwError.INTERNAL.code());
        for (KvwError e : KvwError.values()) assertSame(e, KvwError.of(e.code()));
        assertSame(KvwError.UNKNOWN, KvwError.of(-99));
        assertSame(KvwError.UNKNOWN, KvwError.of(0));
    }

    @Test
    void eachCodeHasItsExceptionClass() {
        Map<KvwError, Class<? extends KvwException>> want = Map.ofEntries(
                Map.entry(KvwError.INVALID_ARGUMENT, InvalidArgumentException.class),
                Map.entry(KvwError.INVALID_KEY, InvalidKeyException.class),
                Map.entry(KvwError.INVALID_BUCKET_NAME, InvalidBucketNameException.class),
                Map.entry(KvwError.INVALID_VERSION, InvalidVersionException.class),
                Map.entry(KvwError.VALUE_TOO_LARGE, ValueTooLargeException.class),
                Map.entry(KvwError.ALREADY_EXISTS, AlreadyExistsException.class),
                Map.entry(KvwError.CONFLICT, ConflictException.class),
                Map.entry(KvwError.NOT_FOUND, NotFoundException.class),
                Map.entry(KvwError.TIMEOUT, KvwTimeoutException.class),
                Map.entry(KvwError.NOT_CONNECTED, NotConnectedException.class),
                Map.entry(KvwError.NO_SUCH_BUCKET, NoSuchBucketException.class),
                Map.entry(KvwError.BUCKET_FULL, BucketFullException.class),
                Map.entry(KvwError.CLOSED, ClosedException.class),
                Map.entry(KvwError.BUSY, BusyException.class),
                Map.entry(KvwError.OUT_OF_MEMORY, KvwException.class),
                Map.entry(KvwError.AUTHENTICATION, AuthenticationException.class),
                Map.entry(KvwError.PERMISSION_DENIED, PermissionDeniedException.class),
                Map.entry(KvwError.TLS, KvwTlsException.class),
                Map.entry(KvwError.SERVER, ServerException.class),
                Map.entry(KvwError.INTERNAL, KvwException.class),
                Map.entry(KvwError.NOT_SUPPORTED, NotSupportedException.class),
                Map.entry(KvwError.INVALID_TTL, InvalidTtlException.class));
        for (KvwError err : KvwError.values()) {
            if (err == KvwError.UNKNOWN) continue;
            KvwException e = KvwException.create(err.code(), "detail", OpType.PUT, "k", 0, null, true);
            assertEquals(want.get(err), e.getClass(), err.name());
            assertEquals(err, e.error());
            assertEquals(err.code(), e.code());
            assertEquals(kvw_native.kvw_err_name(err.code()), e.errorName());
            assertEquals(kvw_native.kvw_err_is_retryable(err.code()) != 0, e.isRetryable());
            assertEquals(kvw_native.kvw_err_outcome_unknown(err.code()) != 0, e.isOutcomeUnknown());
            assertEquals("detail", e.detail());
            assertTrue(e.getMessage().startsWith("put \"k\": detail (" + e.errorName()), e.getMessage());
            KvwException again = e.withCallerStack();
            assertEquals(e.getClass(), again.getClass());
            assertEquals(e.getMessage(), again.getMessage());
            assertTrue(again.getStackTrace().length > 0);
        }
    }

    @Test
    void retryableAndOutcomeUnknown() {
        KvwException timeout = KvwException.create(-9, "t", OpType.PUT, "k", 0, null, false);
        assertTrue(timeout.isRetryable());
        assertTrue(timeout.isOutcomeUnknown());
        assertFalse(java.util.concurrent.TimeoutException.class.isInstance(timeout));
        KvwException busy = KvwException.create(-14, "b", OpType.PUT, "k", 0, null, false);
        assertTrue(busy.isRetryable());
        assertFalse(busy.isOutcomeUnknown());
        KvwException conflict = KvwException.create(-7, "c", OpType.UPDATE, "k", 10071, Version.ofRevision(3), false);
        assertFalse(conflict.isRetryable());
        assertEquals(10071, conflict.serverErrorCode());
        assertEquals(Version.ofRevision(3), conflict.currentVersion().orElseThrow());
        assertTrue(conflict.getMessage().contains("JetStream error 10071"), conflict.getMessage());
        assertEquals(0, conflict.getStackTrace().length, "made on the dispatcher: no stack");
    }

    @Test
    void libraryVersionAndNames() {
        assertNotNull(KvwClient.libraryVersion());
        assertTrue(KvwClient.libraryVersion().matches("\\d+\\.\\d+\\.\\d+"));
        assertTrue(KvwClient.isValidBucketName("a-b_C9"));
        assertFalse(KvwClient.isValidBucketName("a.b"));
        assertFalse(KvwClient.isValidBucketName(""));
        assertFalse(KvwClient.isValidKey(null));
    }
}
