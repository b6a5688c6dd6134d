package io.kvw;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Bulk handles (fast-ingest batches, nats-server 2.14+), read back with
 * jnats, the official Java client. On older servers the refusal is checked
 * and the rest skipped.
 */
class BulkTest extends ServerTestBase {
    private boolean serverHasBatched() {
        String[] v = client.serverVersion().split("\\.");
        int major = Integer.parseInt(v[0]), minor = Integer.parseInt(v[1]);
        return major > 2 || (major == 2 && minor >= 14);
    }

    private BucketOptions bulkOptions() {
        return BucketOptions.builder().createIfMissing(true).allowBatched(true).bulk(true).build();
    }

    @Test
    void refusedWhereTheServerOrBucketCannot() {
        if (!serverHasBatched()) {
            thrown(NotSupportedException.class, () -> client.openBucket(bucketName + "b", bulkOptions()));
            return;
        }
        Bucket plain = client.openBucket(bucketName + "p", BucketOptions.createIfMissing());
        assertFalse(plain.supports(Feature.FAST_BATCH));
        thrown(NotSupportedException.class, () -> client.openBucket(bucketName + "p",
                BucketOptions.builder().bulk(true).build()));
    }

    @Test
    void loadReadBackWithJnats() throws Exception {
        assumeTrue(serverHasBatched(), "bulk handles need nats-server 2.14 or newer (this is "
                + client.serverVersion() + ")");
        Bucket bulk = client.openBucket(bucketName + "l", bulkOptions());
        List<CompletableFuture<Version>> fs = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            String key = "k" + (i % 500);
            fs.add(i >= 2500 && i % 10 == 0 ? bulk.deleteAsync(key) : bulk.putAsync(key, b("v" + i)));
        }
        int exact = 0;
        for (CompletableFuture<Version> f : fs) exact += f.get().isUnknown() ? 0 : 1;
        assertTrue(exact >= 1, "the last write of each batch has an exact version");
        Version alone = bulk.put("alone", b("1")); // a batch of one: exact
        assertFalse(alone.isUnknown());
        KeyValue kv = natsConnection().keyValue(bucketName + "l");
        for (int k = 0; k < 500; k++) {
            int last = 2500 + k;
            KeyValueEntry e = kv.get("k" + k);
            if (last % 10 == 0) {
                assertNull(e, "k" + k + " was deleted last");
            } else {
                assertArrayEquals(b("v" + last), e.getValue(), "k" + k);
            }
        }
        assertEquals(alone.revision(), kv.get("alone").getRevision());
    }
}
