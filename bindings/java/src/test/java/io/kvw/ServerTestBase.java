package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.Nats;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/** A client and a fresh bucket (created on the shared server) per test. */
abstract class ServerTestBase {
    protected KvwClient client;
    protected Bucket bucket;
    protected String bucketName;
    private Connection nats;

    @BeforeEach
    void openClientAndBucket(TestInfo info) {
        client = KvwClient.connect(TestServer.sharedUrl());
        String m = info.getTestMethod().map(x -> x.getName()).orElse("t");
        bucketName = TestServer.bucketName(m.length() > 24 ? m.substring(0, 24) : m);
        bucket = client.openBucket(bucketName, bucketOptions());
    }

    /** Options for the per-test bucket. */
    protected BucketOptions bucketOptions() {
        return BucketOptions.createIfMissing();
    }

    @AfterEach
    void closeAll() throws InterruptedException {
        if (client != null) client.close();
        if (nats != null) nats.close();
    }

    /** The official Java client's view of the test bucket (an independent reader). */
    protected KeyValue jnats() throws Exception {
        if (nats == null) nats = Nats.connect(TestServer.sharedUrl());
        return nats.keyValue(bucketName);
    }

    protected Connection natsConnection() throws Exception {
        if (nats == null) nats = Nats.connect(TestServer.sharedUrl());
        return nats;
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The failure of a future, checked to be a {@code type}. */
    static <E extends Throwable> E failure(CompletableFuture<?> f, Class<E> type) {
        try {
            Object v = f.get(30, TimeUnit.SECONDS);
            fail("expected " + type.getSimpleName() + ", got the value " + v);
            return null;
        } catch (ExecutionException e) {
            return assertInstanceOf(type, e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    static <T> T value(CompletableFuture<T> f) {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("op failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    /** The refusal happened in the blocking form too, with the same code. */
    static <E extends KvwException> E thrown(Class<E> type, org.junit.jupiter.api.function.Executable call) {
        E e = assertThrows(type, call);
        assertEquals(type, e.getClass());
        return e;
    }
}
