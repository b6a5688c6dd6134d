package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** Many async ops in flight from several threads: every completion exactly once. */
class ConcurrencyTest extends ServerTestBase {
    private static final int THREADS = 8;
    private static final int PER_THREAD = 4000;

    @Test
    void manyAsyncOpsFromSeveralThreadsCompleteExactlyOnce() throws Exception {
        int total = THREADS * PER_THREAD;
        AtomicIntegerArray calls = new AtomicIntegerArray(total);
        AtomicInteger failures = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(total);
        Set dispatcherThreads = new Set();
        Semaphore window = new Semaphore(8192);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            Thread th = new Thread(() -> {
                for (int i = 0; i < PER_THREAD; i++) {
                    window.acquireUninterruptibly(); // stay under max_inflight (16384)
                    int op = thread * PER_THREAD + i;
                    String key = "t" + thread + ".k" + (i % 50);
                    CompletableFuture<?> f;
                    switch (i % 4) {
                        case 0: case 1: f = bucket.putAsync(key, b(thread + ":" + i)); break;
                        case 2: f = bucket.getAsync(key); break;
                        default: f = bucket.getEntryAsync(key); break;
                    }
                    f.whenComplete((v, e) -> {
                        window.release();
                        if (e != null) {
                            failures.incrementAndGet();
                            e.printStackTrace();
                        }
                        calls.incrementAndGet(op);
                        dispatcherThreads.add(Thread.currentThread().getName());
                        done.countDown();
                    });
                }
            }, "submitter-" + t);
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) th.join();
        assertTrue(done.await(60, TimeUnit.SECONDS), "all ops completed");
        Thread.sleep(200); // a second completion would show up here
        for (int i = 0; i < total; i++) assertEquals(1, calls.get(i), "op " + i);
        assertEquals(0, failures.get());
        assertEquals(0, client.inflight());

        // Per key, ops from one thread reach the server in order: the last put wins.
        for (int t = 0; t < THREADS; t++) {
            for (int k = 0; k < 50; k++) {
                int last = -1;
                for (int i = 0; i < PER_THREAD; i++) if (i % 50 == k && i % 4 < 2) last = i;
                assertEquals(t + ":" + last, bucket.get("t" + t + ".k" + k).orElseThrow().valueAsString());
            }
        }
        // Stages ran on Java threads (the dispatcher, or the submitter when already complete).
        for (String name : dispatcherThreads.names.keySet()) {
            assertTrue(name.startsWith("kvw-dispatcher-") || name.startsWith("submitter-"), name);
        }
    }

    @Test
    void concurrentCompareAndSetOnOneKeyHasOneWinnerPerVersion() throws Exception {
        Version start = bucket.put("counter", b("0"));
        int writers = 6;
        AtomicInteger wins = new AtomicInteger(), conflicts = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ths = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                    bucket.update("counter", b("x"), start);
                    wins.incrementAndGet();
                } catch (ConflictException e) {
                    conflicts.incrementAndGet();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            th.start();
            ths.add(th);
        }
        go.countDown();
        for (Thread th : ths) th.join();
        assertEquals(1, wins.get());
        assertEquals(writers - 1, conflicts.get());
    }

    @Test
    void fullWindowFailsFastWithBusy() throws Exception {
        try (KvwClient small = KvwClient.connect(ClientOptions.builder().servers(TestServer.sharedUrl())
                .maxInflight(32).build())) {
            Bucket b = small.openBucket(bucketName);
            int n = 5000;
            AtomicInteger ok = new AtomicInteger(), busy = new AtomicInteger(), other = new AtomicInteger();
            List<CompletableFuture<Version>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                CompletableFuture<Version> f = b.putAsync("busy" + (i % 10), b("v" + i));
                fs.add(f);
            }
            for (CompletableFuture<Version> f : fs) {
                try {
                    f.join();
                    ok.incrementAndGet();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof BusyException) {
                        BusyException be = (BusyException) e.getCause();
                        assertTrue(be.isRetryable());
                        busy.incrementAndGet();
                    } else {
                        other.incrementAndGet();
                    }
                }
            }
            assertEquals(n, ok.get() + busy.get());
            assertEquals(0, other.get());
            assertTrue(busy.get() > 0, "the window of 32 filled up");
            assertTrue(ok.get() >= 32);
        }
    }

    /** A tiny concurrent set of names. */
    static final class Set {
        final ConcurrentHashMap<String, Boolean> names = new ConcurrentHashMap<>();

        void add(String n) {
            names.put(n, Boolean.TRUE);
        }
    }
}
