package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
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

    /** An R3 bucket that takes transactions (2.12+): all or nothing, a refusal names the key. */
    @Test
    void r3Transaction() throws Exception {
        String urls = System.getenv("KVW_TEST_CLUSTER_URLS");
        assumeTrue(urls != null && !urls.isEmpty(),
                "no cluster: bindings/java/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS");
        try (KvwClient client = KvwClient.connect(urls)) {
            String[] v = client.serverVersion().split("\\.");
            assumeTrue(Integer.parseInt(v[0]) > 2 || Integer.parseInt(v[1]) >= 12,
                    "transactions need nats-server 2.12 or newer (this is " + client.serverVersion() + ")");
            Bucket bucket = openR3(client, TestServer.bucketName("jr3txn"),
                    BucketOptions.builder().createIfMissing(true).replicas(3).allowAtomic(true).build());
            Version stale = bucket.put("b", b("1"));
            Version current = bucket.put("b", b("2"));
            ConflictException e = assertThrows(ConflictException.class,
                    () -> bucket.transaction().put("x", b("x")).update("b", b("3"), stale).commit());
            assertEquals("b", e.key());
            assertEquals(current, e.currentVersion().orElseThrow());
            assertTrue(bucket.get("x").isEmpty());
            java.util.List<Version> vs = bucket.transaction().put("x", b("x")).update("b", b("3"), current).commit();
            assertEquals(vs.get(0), bucket.get("x").orElseThrow().version());
            assertEquals(vs.get(1), bucket.get("b").orElseThrow().version());
        }
    }

    private static Bucket openR3(KvwClient client, String name, BucketOptions opts) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (;;) {
            try {
                return client.openBucket(name, opts);
            } catch (KvwException e) {
                if (System.nanoTime() > deadline) throw e;
                Thread.sleep(200); // the meta layer may still be settling
            }
        }
    }

    /**
     * Issue 16's read check through Java: 8 threads put, get and update 4
     * keys through one client; a get never returns a version older than one
     * any completed op had reported before it was called; a stale CAS is a
     * ConflictException. Then a version handed to a second client (reading
     * direct) is seen with getAtLeast.
     */
    @Test
    void readsSeeCompletedWrites() throws Exception {
        String urls = System.getenv("KVW_TEST_CLUSTER_URLS");
        assumeTrue(urls != null && !urls.isEmpty(),
                "no cluster: bindings/java/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS");
        String name = TestServer.bucketName("jryw");
        try (KvwClient client = KvwClient.connect(urls); KvwClient other = KvwClient.connect(urls)) {
            Bucket bucket = openR3(client, name, BucketOptions.builder().createIfMissing(true).replicas(3).build());
            AtomicLongArray seen = new AtomicLongArray(4);
            AtomicLong gets = new AtomicLong(), stale = new AtomicLong(), conflicts = new AtomicLong(),
                    other_ = new AtomicLong();
            long until = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            Thread[] threads = new Thread[8];
            for (int t = 0; t < threads.length; t++) {
                final int id = t;
                threads[t] = new Thread(() -> {
                    Random r = new Random(id);
                    Version[] mine = new Version[4];
                    while (System.nanoTime() < until) {
                        int k = r.nextInt(4);
                        String key = "k" + k;
                        try {
                            int what = r.nextInt(3);
                            if (what == 0) {
                                long before = seen.get(k);
                                Optional<Entry> e = bucket.getEntry(key);
                                gets.incrementAndGet();
                                long got = e.map(x -> x.version().revision()).orElse(0L);
                                if (got < before) stale.incrementAndGet();
                                if (e.isPresent()) mine[k] = e.get().version();
                                seen.accumulateAndGet(k, got, Math::max);
                                continue;
                            }
                            Version v = what == 1 || mine[k] == null ? bucket.put(key, b("v" + id))
                                    : bucket.update(key, b("u" + id), mine[k]);
                            mine[k] = v;
                            seen.accumulateAndGet(k, v.revision(), Math::max);
                        } catch (ConflictException e) {
                            conflicts.incrementAndGet();
                        } catch (KvwException e) {
                            other_.incrementAndGet();
                        }
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) t.join();
            System.out.printf("FIGURES java cluster reads: %d gets, %d older than a completed op, %d conflicts, "
                    + "%d other failures%n", gets.get(), stale.get(), conflicts.get(), other_.get());
            assertEquals(0, stale.get());
            assertEquals(0, other_.get());
            assertTrue(gets.get() > 50);

            Bucket direct = other.openBucket(name, BucketOptions.builder().readMode(ReadMode.DIRECT).build());
            for (int i = 0; i < 200; i++) {
                Version v = bucket.put("handed", b("h" + i));
                Entry e = direct.getAtLeast("handed", v).orElseThrow();
                assertTrue(e.version().revision() >= v.revision());
            }
            assertThrows(InvalidVersionException.class, () -> direct.getAtLeast("handed", Version.UNKNOWN));
        }
    }
}
