package io.kvw;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;

/**
 * The C conformance suite (tests/test_conformance.c) in Java: what each op
 * does to a bucket, with the official Java client (jnats) as the independent
 * reader where the stream's own view matters.
 */
class ConformanceTest extends ServerTestBase {

    /** A write's version, or when the server said, the key's current one. */
    private static void assertUnknownOrVersion(KvwException e, Version current) {
        e.currentVersion().ifPresent(v -> assertEquals(current, v));
    }

    private Entry live(String key) {
        Optional<Entry> e = bucket.get(key);
        assertTrue(e.isPresent(), "no live value for " + key);
        return e.get();
    }

    @Test
    void putGetRoundtripKeepsBinaryBytes() {
        byte[] bin = {0, 1, 2, 'a', 0, (byte) 0xff, (byte) 0x80, '\n'};
        Version p = bucket.put("bin", bin);
        assertTrue(p.isRevision());

        Entry g = live("bin");
        assertEquals("bin", g.key());
        assertEquals(EntryOperation.PUT, g.operation());
        assertArrayEquals(bin, g.value());
        assertEquals(p, g.version());

        Entry e = bucket.getEntry("bin").orElseThrow();
        assertEquals(EntryOperation.PUT, e.operation());
        assertArrayEquals(bin, e.value());
        assertEquals(p, e.version());

        Version p2 = bucket.put("bin", b("second"));
        assertTrue(p2.revision() > p.revision());
        Entry g2 = live("bin");
        assertEquals("second", g2.valueAsString());
        assertEquals(p2, g2.version());
    }

    @Test
    void valueArrayMayBeReusedRightAfterSubmit() {
        byte[] buf = b("original");
        CompletableFuture<Version> f = bucket.putAsync("k", buf);
        Arrays.fill(buf, (byte) 'X');
        value(f);
        assertEquals("original", live("k").valueAsString());
    }

    @Test
    void keyCharsetAndMaxLength() {
        String[] keys = {"a", "A-Z_a=z/0.9", "-", "_", "=", "/", "a.b.c", "x/y/z", "0"};
        for (int i = 0; i < keys.length; i++) {
            bucket.put(keys[i], b("v" + i));
            assertEquals("v" + i, live(keys[i]).valueAsString());
        }
        String longKey = "k".repeat(1024);
        bucket.put(longKey, b("long"));
        assertEquals("long", live(longKey).valueAsString());
    }

    @Test
    void badKeysAreRefusedBeforeAnythingIsSent() {
        Version before = bucket.put("ok", b("1"));
        String[] bad = {"", ".a", "a.", "a..b", "a b", "a*", "a>", "k".repeat(1025), "ключ", "a\0b", "a\nb"};
        for (String k : bad) {
            CompletableFuture<Version> f = bucket.putAsync(k, b("x"));
            assertTrue(f.isDone(), "refusal is immediate for " + k);
            InvalidKeyException e = failure(f, InvalidKeyException.class);
            assertEquals(KvwError.INVALID_KEY, e.error());
            assertEquals("KVW_EBADKEY", e.errorName());
            assertEquals(OpType.PUT, e.op());
            assertFalse(e.isRetryable());
            thrown(InvalidKeyException.class, () -> bucket.get(k));
            failure(bucket.getEntryAsync(k), InvalidKeyException.class);
            failure(bucket.deleteAsync(k), InvalidKeyException.class);
            failure(bucket.createAsync(k, b("x")), InvalidKeyException.class);
            assertFalse(KvwClient.isValidKey(k));
        }
        assertTrue(KvwClient.isValidKey("a.b/c"));
        assertEquals(before.revision() + 1, bucket.put("ok", b("2")).revision(), "nothing was written");
    }

    @Test
    void largeValueRoundtrip() {
        byte[] v = new byte[512 * 1024];
        for (int i = 0; i < v.length; i++) v[i] = (byte) (i * 31 + 7);
        bucket.put("big", v);
        assertArrayEquals(v, live("big").value());
    }

    @Test
    void valueLargerThanTheBucketAcceptsIsRefused() {
        long max = bucket.maxValueSize();
        assertTrue(max > 0);
        ValueTooLargeException e = thrown(ValueTooLargeException.class,
                () -> bucket.put("huge", new byte[(int) max + 1]));
        assertEquals(KvwError.VALUE_TOO_LARGE, e.error());
        assertTrue(e instanceof InvalidArgumentException);
    }

    @Test
    void getMissingKey() {
        assertEquals(Optional.empty(), bucket.get("never"));
        assertEquals(Optional.empty(), bucket.getEntry("never"));
        assertEquals(Optional.empty(), value(bucket.getAsync("never")));
    }

    @Test
    void createNewKey() {
        Version c = bucket.create("k", b("first"));
        Entry g = live("k");
        assertEquals("first", g.valueAsString());
        assertEquals(c, g.version());
    }

    @Test
    void createConflictsOnLiveKey() {
        Version p = bucket.put("k", b("live"));
        AlreadyExistsException e = thrown(AlreadyExistsException.class, () -> bucket.create("k", b("other")));
        assertEquals(OpType.CREATE, e.op());
        assertEquals("k", e.key());
        assertEquals(KvwError.ALREADY_EXISTS, e.error());
        assertUnknownOrVersion(e, p);
        AlreadyExistsException async = failure(bucket.createAsync("k", b("other")), AlreadyExistsException.class);
        assertEquals(-6, async.code());

        Entry g = live("k");
        assertEquals("live", g.valueAsString());
        assertEquals(p, g.version());
        assertEquals(p.revision() + 1, bucket.put("other", b("x")).revision(), "a refused create wrote nothing");
    }

    @Test
    void createAfterPlainDeleteSucceeds() {
        Version p = bucket.put("k", b("v1"));
        Version d = bucket.delete("k");
        assertTrue(d.revision() > p.revision());
        Version c = bucket.create("k", b("v2"));
        assertTrue(c.revision() > d.revision());
        Entry g = live("k");
        assertEquals("v2", g.valueAsString());
        assertEquals(c, g.version());
        thrown(AlreadyExistsException.class, () -> bucket.create("k", b("v3")));
    }

    @Test
    void createAfterPurgeSucceeds() {
        bucket.put("k", b("v1"));
        bucket.purge("k");
        bucket.create("k", b("v2"));
        assertEquals("v2", live("k").valueAsString());
    }

    @Test
    void createAfterDeleteWithVersionFailsWithAlreadyExists() {
        Version p = bucket.put("k", b("v1"));
        Version t = bucket.deleteWithVersion("k", p);
        for (int i = 0; i < 2; i++) { // keeps refusing
            AlreadyExistsException e = thrown(AlreadyExistsException.class, () -> bucket.create("k", b("v2")));
            assertUnknownOrVersion(e, t);
        }
        Entry e = bucket.getEntry("k").orElseThrow();
        assertEquals(EntryOperation.PUT, e.operation());
        assertEquals(0, e.valueLength());
        assertFalse(e.isLive());
        assertEquals(t, e.version());
    }

    @Test
    void racingCreatesExactlyOneWins() throws Exception {
        for (int round = 0; round < 20; round++) {
            String key = (round % 2 == 0 ? "deleted" : "fresh") + round;
            if (round % 2 == 0) {
                bucket.put(key, b("old"));
                bucket.delete(key);
            }
            CyclicBarrier barrier = new CyclicBarrier(2);
            List<CompletableFuture<CompletableFuture<Version>>> slots = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (String who : new String[] {"from-A", "from-B"}) {
                CompletableFuture<CompletableFuture<Version>> slot = new CompletableFuture<>();
                Thread th = new Thread(() -> {
                    try {
                        barrier.await();
                        slot.complete(bucket.createAsync(key, b(who)));
                    } catch (Exception e) {
                        slot.completeExceptionally(e);
                    }
                });
                th.start();
                threads.add(th);
                slots.add(slot);
            }
            for (Thread th : threads) th.join();
            List<CompletableFuture<Version>> fs = new ArrayList<>();
            for (CompletableFuture<CompletableFuture<Version>> slot : slots) fs.add(slot.get());
            int wins = 0, winner = -1;
            for (int i = 0; i < 2; i++) {
                try {
                    fs.get(i).join();
                    wins++;
                    winner = i;
                } catch (java.util.concurrent.CompletionException e) {
                    assertTrue(e.getCause() instanceof AlreadyExistsException, "loser: " + e.getCause());
                }
            }
            assertEquals(1, wins, "key " + key);
            Entry g = live(key);
            assertEquals(winner == 0 ? "from-A" : "from-B", g.valueAsString());
            assertEquals(fs.get(winner).join(), g.version());
        }
    }

    @Test
    void updateIsCompareAndSet() {
        Version p = bucket.put("k", b("v1"));
        Version u = bucket.update("k", b("v2"), p);
        assertTrue(u.revision() > p.revision());

        ConflictException stale = thrown(ConflictException.class, () -> bucket.update("k", b("v3"), p));
        assertEquals(OpType.UPDATE, stale.op());
        assertEquals(10071, stale.serverErrorCode());
        assertEquals(KvwError.CONFLICT, stale.error());
        assertFalse(stale.isOutcomeUnknown());
        assertUnknownOrVersion(stale, u);
        assertTrue(stale.getMessage().contains("KVW_ECONFLICT"), stale.getMessage());

        Entry g = live("k");
        assertEquals("v2", g.valueAsString());
        assertEquals(u, g.version());
        bucket.update("k", b("v4"), u); // the current version keeps working
    }

    @Test
    void updateOfMissingKeyConflicts() {
        Version p = bucket.put("other", b("x"));
        ConflictException e = failure(bucket.updateAsync("missing", b("v"), p), ConflictException.class);
        assertEquals(10071, e.serverErrorCode());
        assertEquals(Optional.empty(), bucket.getEntry("missing"));
    }

    @Test
    void deleteWithVersionLeavesAnEmptyValueVisibleToGetEntryOnly() throws Exception {
        Version p1 = bucket.put("k", b("v1"));
        Version p2 = bucket.put("k", b("v2"));

        ConflictException stale = thrown(ConflictException.class, () -> bucket.deleteWithVersion("k", p1));
        assertEquals(OpType.DELETE_WITH_VERSION, stale.op());
        assertEquals(10071, stale.serverErrorCode());
        assertUnknownOrVersion(stale, p2);
        assertEquals("v2", live("k").valueAsString());

        Version t = bucket.deleteWithVersion("k", p2);
        assertTrue(t.revision() > p2.revision());

        Entry e = bucket.getEntry("k").orElseThrow();
        assertEquals(EntryOperation.PUT, e.operation());
        assertEquals(0, e.valueLength());
        assertEquals(t, e.version());
        assertEquals(Optional.empty(), bucket.get("k"), "get says not found");

        // The stream's view: an empty PUT, not a DEL marker.
        KeyValueEntry ne = jnats().get("k");
        assertNotNull(ne);
        assertEquals(KeyValueOperation.PUT, ne.getOperation());
        assertEquals(0, ne.getDataLen());
        assertEquals(t.revision(), ne.getRevision());

        // A writer still holding the old version now conflicts.
        thrown(ConflictException.class, () -> bucket.update("k", b("late"), p2));
    }

    @Test
    void deleteWithVersionOfMissingKeyConflicts() {
        Version p = bucket.put("other", b("x"));
        thrown(ConflictException.class, () -> bucket.deleteWithVersion("missing", p));
        thrown(ConflictException.class, () -> bucket.deleteWithVersion("missing", Version.ofRevision(1)));
        assertEquals(Optional.empty(), bucket.getEntry("missing"));
    }

    @Test
    void updateOverTheTombstoneVersionRevives() {
        Version p = bucket.put("k", b("v1"));
        bucket.deleteWithVersion("k", p);
        Entry e = bucket.getEntry("k").orElseThrow();
        Version u = bucket.update("k", b("alive"), e.version());
        Entry g = live("k");
        assertEquals("alive", g.valueAsString());
        assertEquals(u, g.version());
        thrown(AlreadyExistsException.class, () -> bucket.create("k", b("again")));
    }

    @Test
    void deleteWritesAMarker() {
        Version p = bucket.put("k", b("v1"));
        Version d = bucket.delete("k");
        assertTrue(d.revision() > p.revision());
        assertEquals(Optional.empty(), bucket.get("k"));
        Entry e = bucket.getEntry("k").orElseThrow();
        assertEquals(EntryOperation.DELETE, e.operation());
        assertEquals(0, e.valueLength());
        assertEquals(d, e.version());
        assertTrue(bucket.delete("never").isRevision(), "best effort: deleting a missing key succeeds");
    }

    @Test
    void purgeDropsHistory() throws Exception {
        String name = TestServer.bucketName("purge");
        Bucket b10 = client.openBucket(name, BucketOptions.builder().createIfMissing(true).history(10).build());
        b10.put("k", b("v1"));
        b10.put("k", b("v2"));
        Version p3 = b10.put("k", b("v3"));
        b10.put("keep", b("x"));

        KeyValue kv = natsConnection().keyValue(name);
        List<KeyValueEntry> h = kv.history("k");
        assertEquals(3, h.size());
        assertEquals(p3.revision(), h.get(2).getRevision());

        Version pu = b10.purge("k");
        h = kv.history("k");
        assertEquals(1, h.size());
        assertEquals(KeyValueOperation.PURGE, h.get(0).getOperation());
        assertEquals(pu.revision(), h.get(0).getRevision());
        assertEquals("x", kv.get("keep").getValueAsString(), "other keys keep their data");

        assertEquals(Optional.empty(), b10.get("k"));
        Entry e = b10.getEntry("k").orElseThrow();
        assertEquals(EntryOperation.PURGE, e.operation());
        assertEquals(pu, e.version());
        b10.close();
    }

    @Test
    void nullValueIsEmptyAndNullArgumentsThrowAtTheCall() {
        // The rule of every binding's README: a null value is an empty one.
        Version p = bucket.put("nv", null);
        Entry e = bucket.getEntry("nv").orElseThrow();
        assertEquals(0, e.valueLength());
        assertEquals(p, e.version());
        Version c = value(bucket.createAsync("nv2", null));
        Version u = bucket.update("nv2", null, c);
        assertTrue(u.revision() > c.revision());
        assertEquals(0, bucket.getEntry("nv2").orElseThrow().valueLength());
        // A null key, expected version or TTL: NullPointerException at once,
        // async forms too (no future).
        assertThrows(NullPointerException.class, () -> bucket.putAsync(null, b("x")));
        assertThrows(NullPointerException.class, () -> bucket.getAsync(null));
        assertThrows(NullPointerException.class, () -> bucket.updateAsync("nv", b("x"), null));
        assertThrows(NullPointerException.class, () -> bucket.putAsync("nv", b("x"), null));
        assertEquals(p, bucket.getEntry("nv").orElseThrow().version(), "nothing was written");
    }

    @Test
    void getTreatsEmptyValueAsAbsent() {
        Version p = bucket.put("k", new byte[0]);
        assertEquals(Optional.empty(), bucket.get("k"));
        Entry e = bucket.getEntry("k").orElseThrow();
        assertEquals(EntryOperation.PUT, e.operation());
        assertEquals(0, e.valueLength());
        assertEquals(p, e.version());
    }

    @Test
    void versionsAreStreamSequences() throws Exception {
        List<Version> r = new ArrayList<>();
        r.add(bucket.put("a", b("a1")));                      // 1
        r.add(bucket.put("b", b("b1")));                      // 2
        r.add(bucket.create("c", b("c1")));                   // 3
        r.add(bucket.update("a", b("a2"), r.get(0)));          // 4
        r.add(bucket.delete("b"));                            // 5
        r.add(bucket.deleteWithVersion("c", r.get(2)));       // 6
        r.add(bucket.purge("a"));                             // 7
        r.add(bucket.create("b", b("b2")));                   // 8: over the DEL marker
        r.add(bucket.update("c", b("c2"), r.get(5)));          // 9: over the tombstone
        r.add(bucket.put("d", b("d1")));                      // 10
        for (int i = 0; i < r.size(); i++) assertEquals(i + 1, r.get(i).revision());

        KeyValue kv = jnats();
        assertEquals(r.get(7).revision(), kv.get("b").getRevision());
        assertEquals(r.get(8).revision(), kv.get("c").getRevision());
        assertEquals(r.get(9).revision(), kv.get("d").getRevision());
        List<KeyValueEntry> ha = kv.history("a");
        assertEquals(KeyValueOperation.PURGE, ha.get(ha.size() - 1).getOperation());
        assertEquals(r.get(6).revision(), ha.get(ha.size() - 1).getRevision());

        assertEquals(r.get(8), live("c").version());
        assertEquals(r.get(6), bucket.getEntry("a").orElseThrow().version());
    }

    @Test
    void badVersionsAreRefusedBeforeAnythingIsSent() {
        Version p = bucket.put("k", b("v1"));
        Version foreign = Version.parse("x:010203"); // a token that is no NATS revision
        InvalidVersionException e = failure(bucket.updateAsync("k", b("x"), Version.UNKNOWN),
                InvalidVersionException.class);
        assertEquals(KvwError.INVALID_VERSION, e.error());
        failure(bucket.updateAsync("k", b("x"), foreign), InvalidVersionException.class);
        thrown(InvalidVersionException.class, () -> bucket.deleteWithVersion("k", Version.UNKNOWN));
        thrown(InvalidVersionException.class, () -> bucket.deleteWithVersion("k", foreign));
        assertEquals(p.revision() + 1, bucket.put("k", b("v2")).revision(), "nothing reached the stream");
    }

    @Test
    void versionsRoundTripThroughTheirTextForm() {
        Version p = bucket.put("k", b("v1"));
        String stored = p.toString();
        assertEquals(Long.toString(p.revision()), stored);
        Version back = Version.parse(stored);
        assertEquals(p, back);
        assertEquals(p.hashCode(), back.hashCode());
        Version u = bucket.update("k", b("v2"), back); // a parsed version works as a CAS token
        Version d = bucket.deleteWithVersion("k", Version.parse(u.toString()));
        assertEquals(d, bucket.getEntry("k").orElseThrow().version());
    }
}
