package io.kvw.tools;

import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.Nats;

/** The official Java client's synchronous KV put, for comparison (kept apart so XLang never loads jnats). */
final class JnatsBench {
    private JnatsBench() {}

    static void run(String url, String bucket, String[] keys, byte[] value, int ops) throws Exception {
        try (Connection nc = Nats.connect(url)) {
            KeyValue kv = nc.keyValue(bucket);
            for (int i = 0; i < Math.min(ops, 2000); i++) kv.put(keys[i % keys.length], value); // warm-up
            long t0 = System.nanoTime();
            for (int i = 0; i < ops; i++) kv.put(keys[i % keys.length], value);
            double rate = ops / ((System.nanoTime() - t0) / 1e9);
            System.out.printf("jnats sync KV put:     %,d ops  %,.0f ops/s  (io.nats:jnats KeyValue.put)%n", ops, rate);
        }
    }
}
