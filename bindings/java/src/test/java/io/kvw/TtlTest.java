package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.nats.client.KeyValue;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Per-key TTL (nats-server 2.11+) and feature detection. On older servers the
 * TTL cases check the refusal, then are skipped with the version they need.
 */
class TtlTest extends ServerTestBase {
    private boolean serverHasTtl() {
        String[] v = client.serverVersion().split("\\.");
        int major = Integer.parseInt(v[0]), minor = Integer.parseInt(v[1]);
        return major > 2 || (major == 2 && minor >= 11);
    }

    private Bucket ttlBucket(String suffix, int history) {
        assumeTrue(serverHasTtl(), "per-key TTL needs nats-server 2.11 or newer (this is " + client.serverVersion() + ")");
        Bucket b = client.openBucket(bucketName + suffix,
                BucketOptions.builder().createIfMissing(true).history(history).allowTtl(true).build());
        assertTrue(b.supports(Feature.TTL), b.featureStatus(Feature.TTL));
        return b;
    }

    private static void waitGone(Bucket b, String key) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (b.get(key).isPresent()) {
            assertTrue(System.nanoTime() < deadline, key + " did not expire");
            Thread.sleep(100);
        }
    }

    @Test
    void refusedWithoutSupportWithTheReason() {
        assertTrue(client.serverVersion().matches("2\\.\\d+\\.\\d+"));
        assertFalse(bucket.supports(Feature.TTL));
        String why = bucket.featureStatus(Feature.TTL);
        NotSupportedException e = failure(bucket.createAsync("k", b("v"), Duration.ofSeconds(5)),
                NotSupportedException.class);
        assertEquals(KvwError.NOT_SUPPORTED, e.error());
        assertTrue(e.getMessage().contains(why), e.getMessage());
        thrown(NotSupportedException.class, () -> bucket.purge("k", Duration.ofSeconds(5)));
        assertTrue(bucket.getEntry("k").isEmpty(), "a refused op reached the server");
        if (!serverHasTtl()) {
            assertTrue(why.contains("2.11"), why);
            thrown(NotSupportedException.class, () -> client.openBucket(bucketName + "t",
                    BucketOptions.builder().createIfMissing(true).allowTtl(true).build()));
            thrown(NotSupportedException.class, () -> bucket.enableTtl(Duration.ZERO));
        }
    }

    @Test
    void badTtlValues() {
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofSeconds(-1), Duration.ofMillis(1500),
                Duration.ofMillis(999)}) {
            failure(bucket.createAsync("k", b("v"), d), InvalidTtlException.class);
        }
    }

    @Test
    void createWithTtlExpiresAndReadsBackWithJnats() throws Exception {
        Bucket b = ttlBucket("x", 1);
        Version v = b.create("lock", b("me"), Duration.ofSeconds(1));
        Optional<Entry> e = b.getEntry("lock");
        assertEquals(v, e.get().version());
        assertEquals(Optional.of(Duration.ofSeconds(1)), e.get().ttl());
        KeyValue kv = natsConnection().keyValue(b.name());
        assertNotNull(kv.get("lock"));
        thrown(AlreadyExistsException.class, () -> b.create("lock", b("other"), Duration.ofSeconds(1)));
        waitGone(b, "lock");
        assertNull(kv.get("lock"));
        b.create("lock", b("other"), Duration.ofSeconds(1));
        Version never = b.create("keep", b("v"), Bucket.TTL_NEVER);
        assertEquals(Optional.of(Bucket.TTL_NEVER), b.getEntry("keep").get().ttl());
        assertEquals(never, b.getEntry("keep").get().version());
    }

    @Test
    void leaseRenewalAndHistoryRule() throws Exception {
        Bucket b = ttlBucket("l", 1);
        assertTrue(b.supports(Feature.TTL_ON_WRITE));
        Version v = b.create("kept", b("a"), Duration.ofSeconds(2));
        b.create("lapsed", b("b"), Duration.ofSeconds(2));
        for (int i = 0; i < 3; i++) {
            Thread.sleep(1000);
            v = b.update("kept", b("a"), v, Duration.ofSeconds(2));
        }
        assertTrue(b.get("kept").isPresent());
        assertTrue(b.get("lapsed").isEmpty());
        b.delete("kept", Duration.ofSeconds(1));
        assertEquals(EntryOperation.DELETE, b.getEntry("kept").get().operation());
        assertEquals(Optional.of(Duration.ofSeconds(1)), b.getEntry("kept").get().ttl());
        thrown(ConflictException.class, () -> b.update("kept", b("a"), Version.ofRevision(1), Duration.ofSeconds(2)));

        Bucket h = ttlBucket("h", 3);
        NotSupportedException e = thrown(NotSupportedException.class, () -> h.put("k", b("v"), Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("history 1"), e.getMessage());
        thrown(NotSupportedException.class, () -> h.delete("k", Duration.ofSeconds(5)));
        h.purge("k", Duration.ofSeconds(5));
    }

    @Test
    void enableTtlOnAnExistingBucket() throws Exception {
        assumeTrue(serverHasTtl(), "per-key TTL needs nats-server 2.11 or newer (this is " + client.serverVersion() + ")");
        bucket.put("old", b("v"));
        bucket.enableTtl(Duration.ofSeconds(2));
        assertTrue(bucket.supports(Feature.TTL));
        assertTrue(bucket.supports(Feature.LIMIT_MARKERS));
        bucket.create("new", b("v"), Duration.ofSeconds(1));
        waitGone(bucket, "new");
        assertTrue(bucket.get("old").isPresent());
    }
}
