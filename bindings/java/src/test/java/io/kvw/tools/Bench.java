package io.kvw.tools;

import io.kvw.Bucket;
import io.kvw.BucketOptions;
import io.kvw.ClientOptions;
import io.kvw.KvwClient;
import io.kvw.Version;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Throughput of kvw-Java async puts (a window of ops in flight), kvw-Java
 * blocking puts, and the official Java client's synchronous KV put
 * (io.nats:jnats, on the test classpath) against the same server.
 *
 * <pre>
 *   bench.sh [URL] [--ops N] [--window W] [--size BYTES] [--keys K] [--sync-ops N] [--no-jnats]
 * </pre>
 */
public final class Bench {
    private Bench() {}

    public static void main(String[] args) throws Exception {
        String url = "nats://127.0.0.1:4222";
        int ops = 100_000, window = 16384, size = 128, keys = 1000, syncOps = 20_000;
        boolean jnats = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--ops": ops = Integer.parseInt(args[++i]); break;
                case "--window": window = Integer.parseInt(args[++i]); break;
                case "--size": size = Integer.parseInt(args[++i]); break;
                case "--keys": keys = Integer.parseInt(args[++i]); break;
                case "--sync-ops": syncOps = Integer.parseInt(args[++i]); break;
                case "--no-jnats": jnats = false; break;
                default: url = args[i];
            }
        }
        byte[] value = new byte[size];
        for (int i = 0; i < size; i++) value[i] = (byte) ('a' + i % 26);
        String[] keyNames = new String[keys];
        for (int i = 0; i < keys; i++) keyNames[i] = "bench.k" + i;
        String bucketName = "bench_java_" + ProcessHandle.current().pid();

        try (KvwClient client = KvwClient.connect(ClientOptions.builder().servers(url)
                .maxInflight(Math.max(window, 16384)).build());
             Bucket bucket = client.openBucket(bucketName, BucketOptions.createIfMissing())) {
            asyncPuts(bucket, keyNames, value, Math.min(ops, 20_000), window); // JIT warm-up
            double rate = asyncPuts(bucket, keyNames, value, ops, window);
            System.out.printf("kvw-java async put:   %,d ops  %,.0f ops/s  (window %d, %d-byte values, %d keys)%n",
                    ops, rate, window, size, keys);
            long t0 = System.nanoTime();
            for (int i = 0; i < syncOps; i++) bucket.put(keyNames[i % keys], value);
            double syncRate = syncOps / ((System.nanoTime() - t0) / 1e9);
            System.out.printf("kvw-java blocking put: %,d ops  %,.0f ops/s%n", syncOps, syncRate);
        }
        if (jnats) JnatsBench.run(url, bucketName, keyNames, value, syncOps);
    }

    static double asyncPuts(Bucket bucket, String[] keys, byte[] value, int ops, int window) throws Exception {
        Semaphore inflight = new Semaphore(window);
        CountDownLatch done = new CountDownLatch(ops);
        AtomicLong failed = new AtomicLong();
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            inflight.acquire();
            bucket.putAsync(keys[i % keys.length], value).whenComplete((Version v, Throwable e) -> {
                if (e != null && failed.getAndIncrement() == 0) System.err.println("put failed: " + e);
                inflight.release();
                done.countDown();
            });
        }
        if (!done.await(120, TimeUnit.SECONDS)) throw new IllegalStateException("puts did not complete");
        double secs = (System.nanoTime() - t0) / 1e9;
        if (failed.get() > 0) throw new IllegalStateException(failed.get() + " puts failed");
        return ops / secs;
    }
}
