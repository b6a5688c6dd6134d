package io.kvw;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueManagement;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * kvw-Java and the official Java client (io.nats:jnats) on the same bucket:
 * what one writes the other reads as the same entries — values, revisions,
 * deleted keys as deleted — in both directions.
 */
class InteropJnatsTest extends ServerTestBase {

    @Override
    protected BucketOptions bucketOptions() {
        return BucketOptions.builder().createIfMissing(true).history(10).build();
    }

    @Test
    void jnatsReadsWhatKvwWrites() throws Exception {
        byte[] bin = {0, 'a', 0, (byte) 0xfe};
        Version put = bucket.put("bin", bin);
        Version created = bucket.create("made", b("by-create"));
        Version p1 = bucket.put("upd", b("one"));
        Version updated = bucket.update("upd", b("two"), p1);
        bucket.put("gone", b("x"));
        Version deleted = bucket.delete("gone");
        Version p2 = bucket.put("tomb", b("alive"));
        Version tomb = bucket.deleteWithVersion("tomb", p2);
        bucket.put("purged", b("a"));
        bucket.put("purged", b("b"));
        Version purged = bucket.purge("purged");

        KeyValue kv = jnats();
        KeyValueEntry e = kv.get("bin");
        assertArrayEquals(bin, e.getValue());
        assertEquals(put.revision(), e.getRevision());
        assertEquals(KeyValueOperation.PUT, e.getOperation());
        assertEquals("by-create", kv.get("made").getValueAsString());
        assertEquals(created.revision(), kv.get("made").getRevision());

        List<KeyValueEntry> hu = kv.history("upd");
        assertEquals(2, hu.size());
        assertEquals("one", hu.get(0).getValueAsString());
        assertEquals(p1.revision(), hu.get(0).getRevision());
        assertEquals("two", hu.get(1).getValueAsString());
        assertEquals(updated.revision(), hu.get(1).getRevision());

        assertNull(kv.get("gone"), "jnats: a deleted key has no value");
        List<KeyValueEntry> hg = kv.history("gone");
        assertEquals(KeyValueOperation.DELETE, hg.get(hg.size() - 1).getOperation());
        assertEquals(deleted.revision(), hg.get(hg.size() - 1).getRevision());

        KeyValueEntry t = kv.get("tomb"); // an empty PUT, as kvw documents
        assertEquals(KeyValueOperation.PUT, t.getOperation());
        assertEquals(0, t.getDataLen());
        assertEquals(tomb.revision(), t.getRevision());

        List<KeyValueEntry> hp = kv.history("purged");
        assertEquals(1, hp.size());
        assertEquals(KeyValueOperation.PURGE, hp.get(0).getOperation());
        assertEquals(purged.revision(), hp.get(0).getRevision());
        assertNull(kv.get("purged"));

        // jnats' CAS takes kvw's versions as revisions.
        long next = kv.update("upd", b("three"), updated.revision());
        assertEquals(Version.ofRevision(next), bucket.get("upd").orElseThrow().version());
        assertThrows(JetStreamApiException.class, () -> kv.create("made", b("again")));
    }

    @Test
    void kvwReadsWhatJnatsWrites() throws Exception {
        KeyValue kv = jnats();
        byte[] bin = {1, 0, 2, 0, (byte) 0xff};
        long r1 = kv.put("bin", bin);
        long r2 = kv.create("made", b("by-jnats"));
        long r3 = kv.put("upd", b("one"));
        long r4 = kv.update("upd", b("two"), r3);
        kv.put("gone", b("x"));
        kv.delete("gone");
        kv.put("purged", b("x"));
        kv.purge("purged");

        Entry e = bucket.get("bin").orElseThrow();
        assertArrayEquals(bin, e.value());
        assertEquals(Version.ofRevision(r1), e.version());
        assertEquals(Version.ofRevision(r2), bucket.get("made").orElseThrow().version());
        Entry u = bucket.get("upd").orElseThrow();
        assertEquals("two", u.valueAsString());
        assertEquals(r4, u.version().revision());

        assertEquals(Optional.empty(), bucket.get("gone"));
        Entry gone = bucket.getEntry("gone").orElseThrow();
        assertEquals(EntryOperation.DELETE, gone.operation());
        long delRev = kv.history("gone").get(kv.history("gone").size() - 1).getRevision();
        assertEquals(delRev, gone.version().revision());

        assertEquals(Optional.empty(), bucket.get("purged"));
        assertEquals(EntryOperation.PURGE, bucket.getEntry("purged").orElseThrow().operation());

        // kvw's CAS over jnats' revisions; create over jnats' delete marker.
        Version v = bucket.update("upd", b("three"), Version.ofRevision(r4));
        assertEquals("three", kv.get("upd").getValueAsString());
        assertEquals(v.revision(), kv.get("upd").getRevision());
        assertThrows(ConflictException.class, () -> bucket.update("upd", b("stale"), Version.ofRevision(r4)));
        Version c = bucket.create("gone", b("back"));
        assertEquals(c.revision(), kv.get("gone").getRevision());
        assertThrows(AlreadyExistsException.class, () -> bucket.create("made", b("dup")));
    }

    @Test
    void bucketsCreatedByEitherClientOpenInTheOther() throws Exception {
        KeyValueManagement kvm = natsConnection().keyValueManagement();
        String byJnats = TestServer.bucketName("byjnats");
        kvm.create(KeyValueConfiguration.builder().name(byJnats).maxHistoryPerKey(3).build());
        Bucket b = client.openBucket(byJnats); // no createIfMissing: it exists
        Version v = b.put("k", b("from-kvw"));
        KeyValue kv = natsConnection().keyValue(byJnats);
        assertEquals(v.revision(), kv.get("k").getRevision());
        assertEquals("from-kvw", kv.get("k").getValueAsString());

        // and the kvw-created test bucket is a proper KV bucket for jnats
        assertEquals(10, kvm.getStatus(bucketName).getMaxHistoryPerKey());
        assertTrue(kvm.getBucketNames().contains(bucketName));
    }
}
