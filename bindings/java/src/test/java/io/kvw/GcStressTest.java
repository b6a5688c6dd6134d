package io.kvw;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * GC safety: thousands of async ops pending while the test has dropped every
 * reference it had (futures, value arrays, the Bucket object and with it the
 * proxy of the native bucket handle) and forces collections. A private
 * nats-server is stopped (SIGSTOP) meanwhile, so all of them are really
 * pending. Every op still completes exactly once with the right outcome, and
 * the values stored are the bytes given at submit time.
 */
class GcStressTest {
    // Submitted while the server is paused: their bytes (about 200 each with
    // the write id) must fit in the loopback socket buffers, or the submit
    // blocks until the write deadline.
    private static final int OPS = 12_000;

    @Test
    void droppedReferencesAndForcedGcWhileThousandsArePending() throws Exception {
        try (TestServer server = TestServer.start();
             KvwClient client = KvwClient.connect(ClientOptions.builder().servers(server.url)
                     .opTimeout(Duration.ofSeconds(60)).maxInflight(2 * OPS).build())) {
            client.openBucket("gc", BucketOptions.createIfMissing()).close();
            AtomicIntegerArray calls = new AtomicIntegerArray(OPS);
            AtomicInteger failures = new AtomicInteger(), done = new AtomicInteger();

            Bucket[] holder = {client.openBucket("gc")}; // opening needs the server
            server.pause();
            WeakReference<Bucket> weakBucket;
            int minPending = OPS;
            try {
                weakBucket = submitAndForget(holder, calls, failures, done);
                for (int i = 0; i < 10; i++) {
                    System.gc();
                    churn();
                    minPending = Math.min(minPending, client.inflight());
                    Thread.sleep(20);
                }
                assertTrue(minPending >= OPS / 2, "thousands pending while collecting: " + minPending);
            } finally {
                server.resume();
            }

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            int gcs = 0;
            while (done.get() < OPS && System.nanoTime() < deadline) {
                System.gc();
                gcs++;
                churn();
                Thread.sleep(5);
            }
            assertEquals(OPS, done.get(), "every op completed");
            Thread.sleep(100);
            for (int i = 0; i < OPS; i++) assertEquals(1, calls.get(i), "op " + i);
            assertEquals(0, failures.get());
            System.out.println("GC stress: " + OPS + " ops submitted, at least " + minPending
                    + " pending through 10 forced GCs, " + gcs
                    + " more while completing; Bucket collected meanwhile: " + (weakBucket.get() == null));

            // The data is intact; a fresh handle reads it.
            Bucket b = client.openBucket("gc");
            for (int k = 0; k < 100; k++) {
                int last = OPS - 100 + k;
                assertArrayEquals(expectedValue(last), b.get("gc." + k).orElseThrow().value(), "key gc." + k);
            }
        }
    }

    private static void churn() {
        byte[][] garbage = new byte[64][];
        for (int i = 0; i < garbage.length; i++) garbage[i] = new byte[64 * 1024];
    }

    private static byte[] expectedValue(int i) {
        byte[] v = new byte[64 + i % 64];
        for (int j = 0; j < v.length; j++) v[j] = (byte) (i * 7 + j);
        v[0] = 0; // NUL bytes travel too
        return v;
    }

    /** Submits from a frame whose locals die with it; only the callbacks remain. */
    private static WeakReference<Bucket> submitAndForget(Bucket[] holder, AtomicIntegerArray calls,
                                                        AtomicInteger failures, AtomicInteger done) {
        Bucket b = holder[0];
        holder[0] = null;
        for (int i = 0; i < OPS; i++) {
            int op = i;
            byte[] value = expectedValue(i);
            b.putAsync("gc." + (i % 100), value).whenComplete((v, e) -> {
                if (e != null || !v.isRevision()) {
                    if (failures.incrementAndGet() <= 3) System.out.println("op " + op + " failed: " + e);
                }
                calls.incrementAndGet(op);
                done.incrementAndGet();
            });
            Arrays.fill(value, (byte) 0x55); // kvw copied the bytes already
            if (i % 2000 == 1999) System.gc();
        }
        return new WeakReference<>(b);
    }
}
