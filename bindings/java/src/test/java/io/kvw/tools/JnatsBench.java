package io.kvw.tools;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.KeyValue;
import io.nats.client.Nats;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** The official Java client, for comparison (kept apart so XLang never loads jnats). */
final class JnatsBench {
    private JnatsBench() {}

    static void run(String url, String bucket, String[] keys, byte[] value, int syncOps, int asyncOps, int window,
                    int concurrent, int concurrentOps) throws Exception {
        try (Connection nc = Nats.connect(url)) {
            KeyValue kv = nc.keyValue(bucket);
            Bench.SyncOp put = k -> kv.put(k, value);
            Bench.blocking(Math.min(syncOps, 2000), keys, put); // warm-up
            Bench.report("official_kv_put", "jnats sync KV put:     ", Bench.blocking(syncOps, keys, put),
                    "  (io.nats:jnats KeyValue.put)");
            if (concurrent > 0)
                Bench.report("official_concurrent_put", "jnats sync KV put, threads:      ",
                        Bench.concurrent(concurrentOps, concurrent, keys, put), "  (" + concurrent + " threads)");
            if (asyncOps == 0) return;
            // The subjects KeyValue.put publishes to: same stream, same acks, but
            // pipelined like kvw's putAsync (jnats' KV API has no async put).
            JetStream js = nc.jetStream();
            String prefix = "$KV." + bucket + ".";
            Function<String, CompletableFuture<?>> pub = k -> js.publishAsync(prefix + k, value);
            Bench.windowed(Math.min(asyncOps, 20_000), window, keys, pub); // JIT warm-up, as kvw async gets
            Bench.report("official_publish_async", "jnats publishAsync:    ", Bench.windowed(asyncOps, window, keys, pub),
                    String.format("  (window %d, JetStream.publishAsync to $KV.%s.<key>)", window, bucket));
        }
    }
}
