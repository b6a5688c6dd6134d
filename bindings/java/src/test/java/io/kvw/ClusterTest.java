package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A bucket with three replicas on the 3-node cluster run-tests.sh starts
 * (scripts/lib/nats-cluster.sh, KVW_TEST_CLUSTER_URLS), as KV is deployed.
 */
class ClusterTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void r3BucketConflictsAndTtl() throws Exception {
        String urls = System.getenv("KVW_TEST_CLUSTER_URLS");
        assumeTrue(urls != null && !urls.isEmpty(),
                "no cluster: bindings/java/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS");
        try (KvwClient client = KvwClient.connect(urls)) {
            String[] v = client.serverVersion().split("\\.");
            boolean ttl = Integer.parseInt(v[0]) > 2 || Integer.parseInt(v[1]) >= 11;
            BucketOptions opts = BucketOptions.builder().createIfMissing(true).replicas(3).allowTtl(ttl).build();
            Bucket bucket = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (bucket == null) {
                try {
                    bucket = client.openBucket(TestServer.bucketName("jr3"), opts);
                } catch (KvwException e) {
                    if (System.nanoTime() > deadline) throw e;
                    Thread.sleep(200); // the meta layer may still be settling
                }
            }
            Version v1 = bucket.put("k", b("one"));
            bucket.update("k", b("two"), v1);
            final Bucket r3 = bucket;
            assertThrows(ConflictException.class, () -> r3.update("k", b("three"), v1));
            assertEquals("two", bucket.get("k").orElseThrow().valueAsString());
            assumeTrue(ttl, "TTL part: per-key TTL needs nats-server 2.11 or newer (this is "
                    + client.serverVersion() + ")");
            bucket.create("lock", b("a"), Duration.ofSeconds(1));
            assertThrows(AlreadyExistsException.class, () -> r3.create("lock", b("b"), Duration.ofSeconds(1)));
            long gone = System.nanoTime() + Duration.ofSeconds(8).toNanos();
            while (bucket.get("lock").isPresent()) {
                assertTrue(System.nanoTime() < gone, "the lock did not expire");
                Thread.sleep(100);
            }
            bucket.create("lock", b("b"), Duration.ofSeconds(1));
        }
    }
}
