package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** Closing clients and buckets with ops pending: each op completes exactly once. */
class CloseTest extends ServerTestBase {

    @Test
    void closeWithOpsPendingCompletesEachOnce() throws Exception {
        int n = 8000;
        AtomicIntegerArray calls = new AtomicIntegerArray(n);
        AtomicInteger ok = new AtomicInteger(), cancelled = new AtomicInteger(), other = new AtomicInteger();
        List<CompletableFuture<Version>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int op = i;
            CompletableFuture<Version> f = bucket.putAsync("k" + (i % 100), b("v" + i));
            f.whenComplete((v, e) -> {
                calls.incrementAndGet(op);
                if (e == null) ok.incrementAndGet();
                else if (e instanceof ClosedException) cancelled.incrementAndGet();
                else other.incrementAndGet();
            });
            fs.add(f);
        }
        client.close();
        for (CompletableFuture<Version> f : fs) assertTrue(f.isDone(), "done when close returns");
        Thread.sleep(200);
        for (int i = 0; i < n; i++) assertEquals(1, calls.get(i), "op " + i);
        assertEquals(n, ok.get() + cancelled.get(), "only successes and ClosedException: other=" + other.get());
        assertEquals(0, client.inflight());
        System.out.println("close with " + n + " pending: " + ok.get() + " landed, " + cancelled.get() + " cancelled");
        if (cancelled.get() > 0) {
            // A cancelled write that was sent may have landed.
            ClosedException e = fs.stream().filter(CompletableFuture::isCompletedExceptionally).findFirst()
                    .map(f -> failure(f, ClosedException.class)).orElseThrow();
            assertEquals(KvwError.CLOSED, e.error());
        }

        // Afterwards: everything refuses with ClosedException, nothing hangs.
        ClosedException late = failure(bucket.putAsync("k", b("late")), ClosedException.class);
        assertEquals(OpType.PUT, late.op());
        thrown(ClosedException.class, () -> bucket.get("k"));
        thrown(ClosedException.class, () -> client.openBucket(bucketName));
        client.close(); // idempotent
        assertTrue(client.isClosed());
    }

    @Test
    void closeWhileOtherThreadsSubmit() throws Exception {
        int threads = 4;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger submitted = new AtomicInteger(), completed = new AtomicInteger(), twice = new AtomicInteger();
        List<Thread> ths = new ArrayList<>();
        CountDownLatch started = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                started.countDown();
                int i = 0;
                while (!stop.get() && i < 200_000) {
                    AtomicBoolean once = new AtomicBoolean();
                    bucket.putAsync("c" + (i++ % 64), b("x")).whenComplete((v, e) -> {
                        if (!once.compareAndSet(false, true)) twice.incrementAndGet();
                        completed.incrementAndGet();
                    });
                    submitted.incrementAndGet();
                }
            });
            th.start();
            ths.add(th);
        }
        started.await();
        Thread.sleep(300);
        client.close();
        stop.set(true);
        for (Thread th : ths) th.join();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (completed.get() < submitted.get() && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(submitted.get(), completed.get(), "every submitted op completed");
        assertEquals(0, twice.get());
    }

    @Test
    void closeFromACompletionStage() throws Exception {
        List<CompletableFuture<Version>> fs = new ArrayList<>();
        CompletableFuture<Void> closedInStage = bucket.putAsync("first", b("1")).thenRun(client::close);
        for (int i = 0; i < 2000; i++) fs.add(bucket.putAsync("k" + i % 10, b("v")));
        closedInStage.get(30, TimeUnit.SECONDS);
        for (CompletableFuture<Version> f : fs) {
            try {
                f.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                assertInstanceOf(ClosedException.class, e.getCause());
            }
        }
        assertTrue(client.isClosed());
        client.close(); // from the test thread too: waits for the dispatcher, frees
    }

    @Test
    void blockingCallInsideACompletionStageWorks() throws Exception {
        // A blocking call's outcome does not go through the dispatcher
        // (kvwb_call), so one made on the dispatcher thread itself returns.
        // If the put completes before thenApply is attached, the stage runs
        // on this thread: try again until it ran on the dispatcher.
        boolean checked = false;
        for (int attempt = 0; attempt < 100 && !checked; attempt++) {
            java.util.concurrent.atomic.AtomicReference<Thread> ranOn = new java.util.concurrent.atomic.AtomicReference<>();
            CompletableFuture<Version> nested = bucket.putAsync("a", b("1")).thenApply(v -> {
                ranOn.set(Thread.currentThread());
                return bucket.put("b", b("2"));
            });
            Version v = nested.get(30, TimeUnit.SECONDS);
            assertTrue(v.isRevision());
            checked = ranOn.get() != Thread.currentThread() && ranOn.get().getName().startsWith("kvw-dispatcher-");
        }
        assertTrue(checked, "the stage never ran on the dispatcher thread");
        assertEquals("2", new String(bucket.get("b").orElseThrow().value(), java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void closingABucketRefusesNewOpsButLetsPendingOnesFinish() throws Exception {
        List<CompletableFuture<Version>> fs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) fs.add(bucket.putAsync("k" + i % 10, b("v" + i)));
        bucket.close();
        for (CompletableFuture<Version> f : fs) assertTrue(f.get(30, TimeUnit.SECONDS).isRevision());
        thrown(ClosedException.class, () -> bucket.put("k", b("x")));
        assertTrue(bucket.isClosed());
        Bucket again = client.openBucket(bucketName); // the client is still open
        assertEquals("v999", again.get("k9").orElseThrow().valueAsString());
    }
}
