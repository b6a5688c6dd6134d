package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.KeyValueStatus;
import io.nats.client.api.StorageType;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Client and bucket options, open failures, timeouts, the completion executor. */
class OptionsTest {

    @Test
    void connectingToNothingFailsWithNotConnected() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        NotConnectedException e = assertThrows(NotConnectedException.class, () -> KvwClient.connect(
                ClientOptions.builder().servers("nats://127.0.0.1:" + port).connectTimeout(Duration.ofMillis(500))
                        .build()));
        assertTrue(e.isRetryable());
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
    }

    @Test
    void refusedOptionValues() {
        assertThrows(IllegalArgumentException.class, () -> ClientOptions.builder().maxInflight(0));
        assertThrows(InvalidArgumentException.class, () -> KvwClient.connect(ClientOptions.builder()
                .servers(TestServer.sharedUrl()).opTimeout(Duration.ofMillis(-5)).build()));
    }

    @Test
    void everyClientOptionIsAccepted() {
        try (KvwClient c = KvwClient.connect(ClientOptions.builder().servers(TestServer.sharedUrl(), TestServer.sharedUrl())
                .name("kvw-java-test").connectTimeout(Duration.ofSeconds(3)).opTimeout(Duration.ofSeconds(4))
                .maxInflight(100).maxReconnect(ClientOptions.NO_RECONNECT).reconnectWait(Duration.ofMillis(100))
                .build())) {
            Bucket b = c.openBucket(TestServer.bucketName("opts"), BucketOptions.createIfMissing());
            assertTrue(b.put("k", "v".getBytes()).isRevision());
        }
        try (KvwClient c = KvwClient.connect(ClientOptions.builder().servers(TestServer.sharedUrl())
                .maxReconnect(ClientOptions.RECONNECT_FOREVER).build())) {
            assertTrue(c.servers().startsWith("nats://"));
        }
    }

    @Test
    void openingBuckets() throws Exception {
        try (KvwClient c = KvwClient.connect(TestServer.sharedUrl())) {
            String missing = TestServer.bucketName("missing");
            NoSuchBucketException nb = assertThrows(NoSuchBucketException.class, () -> c.openBucket(missing));
            assertEquals(KvwError.NO_SUCH_BUCKET, nb.error());
            assertThrows(InvalidBucketNameException.class, () -> c.openBucket("bad.name", BucketOptions.createIfMissing()));
            assertThrows(InvalidBucketNameException.class, () -> c.openBucket("", BucketOptions.createIfMissing()));

            String name = TestServer.bucketName("opts");
            Bucket b = c.openBucket(name, BucketOptions.builder().createIfMissing(true).history(5)
                    .storage(Storage.MEMORY).maxValueSize(1024).maxBytes(1 << 20).maxAge(Duration.ofHours(1))
                    .build());
            assertEquals(name, b.name());
            assertEquals(1024, b.maxValueSize());
            assertThrows(ValueTooLargeException.class, () -> b.put("k", new byte[1025]));
            b.put("k", new byte[1024]);
            try (Connection nc = Nats.connect(TestServer.sharedUrl())) {
                KeyValueStatus st = nc.keyValueManagement().getStatus(name);
                assertEquals(5, st.getMaxHistoryPerKey());
                assertEquals(StorageType.Memory, st.getStorageType());
                assertEquals(Duration.ofHours(1), st.getTtl());
                JetStreamManagement jsm = nc.jetStreamManagement();
                assertEquals(1 << 20, jsm.getStreamInfo("KV_" + name).getConfiguration().getMaxBytes());
            }
            // An existing bucket opens as it is, without createIfMissing.
            assertEquals(1024, c.openBucket(name).maxValueSize());
        }
    }

    @Test
    void aStalledServerGivesTimeoutWithUnknownOutcome() throws Exception {
        try (TestServer server = TestServer.start();
             KvwClient c = KvwClient.connect(ClientOptions.builder().servers(server.url)
                     .opTimeout(Duration.ofMillis(400)).build())) {
            Bucket b = c.openBucket("stall", BucketOptions.createIfMissing());
            b.put("k", "before".getBytes());
            server.pause();
            try {
                KvwTimeoutException e = assertThrows(KvwTimeoutException.class, () -> b.put("k", "during".getBytes()));
                assertTrue(e.isOutcomeUnknown());
                assertTrue(e.isRetryable());
                assertEquals(OpType.PUT, e.op());
                assertTrue(e.getStackTrace().length > 0 && e.getStackTrace()[0].getClassName().startsWith("io.kvw"));
                CompletableFuture<Version> f = b.putAsync("k", "during2".getBytes());
                ServerTestBase.failure(f, KvwTimeoutException.class);
            } finally {
                server.resume();
            }
        }
    }

    @Test
    void completionExecutorRunsStagesAndBlockingCallsWorkInThem() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "user-pool");
            t.setDaemon(true);
            return t;
        });
        try (TestServer server = TestServer.start();
             KvwClient c = KvwClient.connect(ClientOptions.builder().servers(server.url)
                .completionExecutor(pool).build())) {
            Bucket b = c.openBucket("exec", BucketOptions.createIfMissing());
            CompletableFuture<String> where = new CompletableFuture<>();
            CompletableFuture<Version> f = new CompletableFuture<>();
            // Paused, so that the stage is attached before the future completes
            // (attached to a completed future it would run on this thread).
            server.pause();
            try {
                b.putAsync("a", "1".getBytes()).whenComplete((v, e) -> {
                    where.complete(Thread.currentThread().getName());
                    try {
                        f.complete(b.put("b", "2".getBytes())); // blocking inside a stage: fine here
                    } catch (Throwable t) {
                        f.completeExceptionally(t);
                    }
                });
            } finally {
                server.resume();
            }
            assertEquals("user-pool", where.get(30, TimeUnit.SECONDS));
            assertTrue(f.get(30, TimeUnit.SECONDS).isRevision());
            assertEquals("2", b.get("b").orElseThrow().valueAsString());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closedClientInNestedTryWithResources() {
        KvwClient c = KvwClient.connect(TestServer.sharedUrl());
        Bucket b = c.openBucket(TestServer.bucketName("twr"), BucketOptions.createIfMissing());
        try (c; b) {
            b.put("k", "v".getBytes());
        }
        assertTrue(c.isClosed());
        assertInstanceOf(ClosedException.class, ServerTestBase.failure(b.putAsync("k", "v".getBytes()),
                ClosedException.class));
    }
}
