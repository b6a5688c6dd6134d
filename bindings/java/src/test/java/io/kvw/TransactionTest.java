package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Transactions (nats-server 2.12+), read back with jnats, the official Java
 * client. On older servers the refusal is checked and the rest skipped.
 */
class TransactionTest extends ServerTestBase {
    private boolean serverHasAtomic() {
        String[] v = client.serverVersion().split("\\.");
        int major = Integer.parseInt(v[0]), minor = Integer.parseInt(v[1]);
        return major > 2 || (major == 2 && minor >= 12);
    }

    @Override
    protected BucketOptions bucketOptions() {
        return BucketOptions.builder().createIfMissing(true).allowAtomic(serverHasAtomic()).build();
    }

    private void needsAtomic() {
        assumeTrue(serverHasAtomic(), "transactions need nats-server 2.12 or newer (this is " + client.serverVersion() + ")");
    }

    @Test
    void refusedWithoutAtomicBucket() {
        Bucket plain = client.openBucket(bucketName + "p", BucketOptions.createIfMissing());
        NotSupportedException e = thrown(NotSupportedException.class, plain::transaction);
        assertTrue(e.getMessage().contains(plain.featureStatus(Feature.ATOMIC_BATCH)), e.getMessage());
        if (!serverHasAtomic()) {
            thrown(NotSupportedException.class, () -> client.openBucket(bucketName + "a",
                    BucketOptions.builder().createIfMissing(true).allowAtomic(true).build()));
        }
    }

    @Test
    void commitEveryKindReadBackWithJnats() throws Exception {
        needsAtomic();
        Version u = bucket.put("u", b("u1"));
        Version dv = bucket.put("dv", b("x"));
        bucket.put("m", b("gone"));
        bucket.delete("m");
        Transaction t = bucket.transaction()
                .put("p", b("pv")).create("c", null).create("m", b("mv"))
                .update("u", b("u2"), u).delete("d").deleteWithVersion("dv", dv);
        assertEquals(6, t.size());
        List<Version> vs = t.commit();
        assertEquals(6, vs.size());
        assertEquals(0, t.size());
        KeyValue kv = jnats();
        String[] keys = {"p", "c", "m", "u", "d", "dv"};
        String[] values = {"pv", "", "mv", "u2", "", ""};
        for (int i = 0; i < keys.length; i++) {
            List<KeyValueEntry> h = kv.history(keys[i]);
            KeyValueEntry last = h.get(h.size() - 1);
            assertEquals(vs.get(0).revision() + i, last.getRevision(), keys[i]);
            assertEquals(vs.get(i).revision(), last.getRevision(), keys[i]);
            assertEquals(values[i], last.getValue() == null ? "" : new String(last.getValue()), keys[i]);
            assertEquals(keys[i].equals("d") ? KeyValueOperation.DELETE : KeyValueOperation.PUT,
                    last.getOperation(), keys[i]);
        }
    }

    @Test
    void conflictNamesTheKeyAndStoresNothing() {
        needsAtomic();
        Version a = bucket.put("a", b("1"));
        Version stale = bucket.put("b", b("1"));
        Version current = bucket.put("b", b("2"));
        Transaction t = bucket.transaction().put("x", b("x")).update("a", b("2"), a).update("b", b("3"), stale);
        thrown(InvalidArgumentException.class, () -> t.update("b", b("4"), current));
        ConflictException e = failure(t.commitAsync(), ConflictException.class);
        assertEquals(OpType.TXN, e.op());
        assertEquals("b", e.key());
        assertEquals(current, e.currentVersion().orElseThrow());
        assertTrue(bucket.get("x").isEmpty());

        AlreadyExistsException ae = thrown(AlreadyExistsException.class,
                () -> bucket.transaction().create("a", b("again")).commit());
        assertEquals("a", ae.key());
        failure(bucket.transaction().commitAsync(), InvalidArgumentException.class); // no writes
    }

    @Test
    void getManyAndReadModifyWrite() throws Exception {
        String[] v = client.serverVersion().split("\\.");
        int minor = Integer.parseInt(v[1]);
        if (minor < 11 && Integer.parseInt(v[0]) == 2) {
            thrown(NotSupportedException.class, () -> bucket.getMany("a"));
            assumeTrue(false, "getMany needs nats-server 2.11 or newer (this is " + client.serverVersion() + ")");
        }
        Version a = bucket.put("a", b("1"));
        Version d = bucket.delete("d");
        Snapshot s = bucket.getMany("a", "d", "none");
        assertEquals(d, s.asOf().orElseThrow());
        assertEquals(3, s.entries().size());
        assertEquals(a, s.get("a").orElseThrow().version());
        assertEquals(EntryOperation.DELETE, s.get("d").orElseThrow().operation());
        assertTrue(s.get("none").isEmpty());
        assertEquals("1", new String(value(bucket.getManyAsync("a")).get("a").orElseThrow().value()));
        thrown(InvalidKeyException.class, () -> bucket.getMany("a", "b\nc"));
        needsAtomic();
        bucket.put("x", b("50"));
        bucket.put("y", b("50"));
        Thread[] movers = new Thread[4];
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        for (int g = 0; g < movers.length; g++) {
            movers[g] = new Thread(() -> {
                try {
                    for (int moves = 0; moves < 25; ) {
                        Snapshot snap = bucket.getMany("x", "y");
                        Entry x = snap.get("x").orElseThrow(), y = snap.get("y").orElseThrow();
                        int xv = Integer.parseInt(new String(x.value())), yv = Integer.parseInt(new String(y.value()));
                        assertEquals(100, xv + yv, "an inconsistent snapshot");
                        try {
                            bucket.transaction().update("x", b(String.valueOf(xv - 1)), x.version())
                                    .update("y", b(String.valueOf(yv + 1)), y.version()).commit();
                            moves++;
                        } catch (ConflictException e) {
                            // someone moved first: read again
                        }
                    }
                } catch (Throwable t) {
                    failed.compareAndSet(null, t);
                }
            });
            movers[g].start();
        }
        for (Thread t : movers) t.join();
        if (failed.get() != null) throw new AssertionError(failed.get());
        Snapshot end = bucket.getMany("x", "y");
        assertEquals("-50", new String(end.get("x").orElseThrow().value()));
        assertEquals("150", new String(end.get("y").orElseThrow().value()));
    }

    @Test
    void manyAsyncCommits() {
        needsAtomic();
        List<CompletableFuture<List<Version>>> fs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            Transaction t = bucket.transaction().put("a", b("v" + i)).put("b", b("v" + i));
            fs.add(t.commitAsync());
        }
        for (CompletableFuture<List<Version>> f : fs) {
            List<Version> vs = value(f);
            assertEquals(vs.get(0).revision() + 1, vs.get(1).revision());
        }
        Entry a = bucket.get("a").orElseThrow(), bb = bucket.get("b").orElseThrow();
        assertEquals(a.version().revision() + 1, bb.version().revision());
        assertEquals(new String(a.value()), new String(bb.value()));
    }
}
