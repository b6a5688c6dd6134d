package io.kvw.tools;

import io.kvw.Bucket;
import io.kvw.BucketOptions;
import io.kvw.ClientOptions;
import io.kvw.KvwClient;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Throughput of kvw-Java async puts (a window of ops in flight), kvw-Java
 * blocking puts, and the official Java client (io.nats:jnats, on the test
 * classpath): its synchronous KV put and JetStream publishAsync to the KV
 * subjects, against the same server.
 *
 * <pre>
 *   bench.sh [URL] [--ops N] [--window W] [--size BYTES] [--keys K] [--sync-ops N]
 *            [--publish-async-ops N] [--concurrent T] [--concurrent-ops N] [--no-jnats] [--rows]
 * </pre>
 *
 * With {@code --rows} each phase also prints
 * {@code ROW<TAB>java<TAB>phase<TAB>ops<TAB>seconds<TAB>fails} for a
 * cross-language script. A phase of 0 ops is skipped; any failed op makes the
 * exit status 1 (after all phases ran).
 */
public final class Bench {
    private Bench() {}

    /** One timed phase: ops attempted, wall-clock seconds, ops that failed (a class: the jar targets Java 11). */
    static final class Result {
        final long ops;
        final double secs;
        final long fails;

        Result(long ops, double secs, long fails) {
            this.ops = ops;
            this.secs = secs;
            this.fails = fails;
        }
    }

    /** One op of a blocking loop; a throw counts as a failed op. */
    interface SyncOp {
        void run(String key) throws Exception;
    }

    private static boolean rows;
    private static boolean anyFailed;

    public static void main(String[] args) throws Exception {
        String url = "nats://127.0.0.1:4222";
        int ops = 100_000, window = 16384, size = 128, keys = 1000, syncOps = 20_000, publishAsyncOps = -1, concurrent = 0,
            concurrentOps = 20_000;
        boolean jnats = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--ops": ops = Integer.parseInt(args[++i]); break;
                case "--window": window = Integer.parseInt(args[++i]); break;
                case "--size": size = Integer.parseInt(args[++i]); break;
                case "--keys": keys = Integer.parseInt(args[++i]); break;
                case "--sync-ops": syncOps = Integer.parseInt(args[++i]); break;
                case "--publish-async-ops": publishAsyncOps = Integer.parseInt(args[++i]); break;
                case "--concurrent": concurrent = Integer.parseInt(args[++i]); break;
                case "--concurrent-ops": concurrentOps = Integer.parseInt(args[++i]); break;
                case "--no-jnats": jnats = false; break;
                case "--rows": rows = true; break;
                default: url = args[i];
            }
        }
        if (publishAsyncOps < 0) publishAsyncOps = ops;
        byte[] value = new byte[size];
        for (int i = 0; i < size; i++) value[i] = (byte) ('a' + i % 26);
        String[] keyNames = new String[keys];
        for (int i = 0; i < keys; i++) keyNames[i] = "bench.k" + i;
        String bucketName = "bench_java_" + ProcessHandle.current().pid();

        try (KvwClient client = KvwClient.connect(ClientOptions.builder().servers(url)
                .maxInflight(Math.max(window, 16384)).build());
             Bucket bucket = client.openBucket(bucketName, BucketOptions.createIfMissing())) {
            Function<String, CompletableFuture<?>> putAsync = k -> bucket.putAsync(k, value);
            windowed(Math.min(ops, 20_000), window, keyNames, putAsync); // JIT warm-up
            report("kvw_async_put", "kvw-java async put:   ", windowed(ops, window, keyNames, putAsync),
                    String.format("  (window %d, %d-byte values, %d keys)", window, size, keys));
            SyncOp put = k -> bucket.put(k, value);
            blocking(Math.min(syncOps, 2000), keyNames, put); // warm-up, as the jnats KV put gets
            report("kvw_blocking_put", "kvw-java blocking put: ", blocking(syncOps, keyNames, put), "");
            if (concurrent > 0)
                report("kvw_concurrent_put", "kvw-java blocking put, threads: ",
                        concurrent(concurrentOps, concurrent, keyNames, put), "  (" + concurrent + " threads)");
        }
        if (jnats) JnatsBench.run(url, bucketName, keyNames, value, syncOps, publishAsyncOps, window, concurrent,
                concurrentOps);
        if (anyFailed) System.exit(1);
    }

    /** Prints the human line and, with --rows, the machine line; 0 ops prints nothing. */
    static void report(String phase, String label, Result r, String note) {
        if (r.ops == 0) return;
        if (r.fails > 0) {
            anyFailed = true;
            note += String.format("  (%,d FAILED)", r.fails);
        }
        System.out.printf("%s%,d ops  %,.0f ops/s%s%n", label, r.ops, r.ops / r.secs, note);
        // Locale.ROOT: the decimal point must be '.' whatever the JVM's locale.
        if (rows) System.out.printf(Locale.ROOT, "ROW\tjava\t%s\t%d\t%.6f\t%d%n", phase, r.ops, r.secs, r.fails);
    }

    /** {@code ops} blocking calls over the keys in turn. */
    static Result blocking(int ops, String[] keys, SyncOp op) {
        long fails = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            try {
                op.run(keys[i % keys.length]);
            } catch (Exception e) {
                if (fails++ == 0) System.err.println("op failed: " + e);
            }
        }
        return new Result(ops, (System.nanoTime() - t0) / 1e9, fails);
    }

    /** {@code ops} blocking calls from {@code threads} threads at once, each its share of the keys in turn. */
    static Result concurrent(int ops, int threads, String[] keys, SyncOp op) throws InterruptedException {
        AtomicLong fails = new AtomicLong();
        Thread[] ts = new Thread[threads];
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            final int first = t;
            ts[t] = new Thread(() -> {
                for (int i = first; i < ops; i += threads) {
                    try {
                        op.run(keys[i % keys.length]);
                    } catch (Exception e) {
                        if (fails.getAndIncrement() == 0) System.err.println("op failed: " + e);
                    }
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        return new Result(ops, (System.nanoTime() - t0) / 1e9, fails.get());
    }

    /** {@code ops} async calls, at most {@code window} in flight; timed until the last completes. */
    static Result windowed(int ops, int window, String[] keys, Function<String, CompletableFuture<?>> op)
            throws InterruptedException {
        Semaphore inflight = new Semaphore(window);
        CountDownLatch done = new CountDownLatch(ops);
        AtomicLong fails = new AtomicLong();
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            inflight.acquire();
            CompletableFuture<?> f;
            try {
                f = op.apply(keys[i % keys.length]);
            } catch (RuntimeException e) { // refused before it was sent
                f = CompletableFuture.failedFuture(e);
            }
            f.whenComplete((v, e) -> {
                if (e != null && fails.getAndIncrement() == 0) System.err.println("async op failed: " + e);
                inflight.release();
                done.countDown();
            });
        }
        if (!done.await(120, TimeUnit.SECONDS)) throw new IllegalStateException("async ops did not complete");
        return new Result(ops, (System.nanoTime() - t0) / 1e9, fails.get());
    }
}
