package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.MessageInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Idempotent resends: write ids as jnats sees them, and drain (the C suite
 * reliability/resend gives the same counts).
 */
class ResendTest {

    @Test
    void writesCarryOneWriteIdUnlessResendsAreOff() throws Exception {
        String url = TestServer.sharedUrl();
        for (Duration resend : new Duration[] {null, ClientOptions.NO_RESEND}) {
            ClientOptions.Builder o = ClientOptions.builder().servers(url);
            if (resend != null) o.resendAfter(resend);
            try (KvwClient c = KvwClient.connect(o.build());
                 Connection nc = Nats.connect(url)) {
                String name = TestServer.bucketName("ids");
                Bucket b = c.openBucket(name, BucketOptions.createIfMissing());
                long rev = b.put("k", "v".getBytes()).revision();
                JetStreamManagement jsm = nc.jetStreamManagement();
                MessageInfo mi = jsm.getMessage("KV_" + name, rev);
                String id = mi.getHeaders() == null ? null : mi.getHeaders().getFirst("Nats-Msg-Id");
                if (resend == null) assertNotNull(id, "a write id by default");
                else assertNull(id, "no write id with NO_RESEND");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ClientOptions.builder().resendAfter(Duration.ofMillis(-5)));
        assertThrows(IllegalArgumentException.class, () -> ClientOptions.builder().resendAfter(Duration.ZERO));
    }

    @Test
    void drainGetsRealOutcomesWhereCloseCancels() throws Exception {
        try (TestServer server = TestServer.start()) {
            for (boolean drain : new boolean[] {false, true}) {
                KvwClient c = KvwClient.connect(ClientOptions.builder().servers(server.url)
                        .reconnectWait(Duration.ofMillis(100)).build());
                Bucket b = c.openBucket("drain" + drain, BucketOptions.builder().createIfMissing(true)
                        .history(4).duplicateWindow(Duration.ofMinutes(1)).build());
                server.pause();
                int n = 1000;
                AtomicInteger ok = new AtomicInteger(), cancelled = new AtomicInteger(), other = new AtomicInteger();
                List<CompletableFuture<Version>> fs = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    CompletableFuture<Version> f = b.putAsync("k" + i, "v".getBytes());
                    f.whenComplete((v, e) -> {
                        if (e == null) ok.incrementAndGet();
                        else if (e instanceof ClosedException) cancelled.incrementAndGet();
                        else other.incrementAndGet();
                    });
                    fs.add(f);
                }
                Thread resumer = new Thread(() -> {
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    server.resume();
                });
                resumer.start();
                if (drain) assertTrue(c.drain(Duration.ofSeconds(10)));
                else c.close();
                for (CompletableFuture<Version> f : fs) f.handle((v, e) -> null).get(10, TimeUnit.SECONDS);
                resumer.join();
                System.out.printf("FIGURES drain=%b with %d in flight, server paused 500 ms: OK %d, cancelled %d, other %d%n",
                        drain, n, ok.get(), cancelled.get(), other.get());
                assertEquals(drain ? n : 0, ok.get());
                assertEquals(drain ? 0 : n, cancelled.get());
                ServerTestBase.failure(b.putAsync("late", "v".getBytes()), ClosedException.class);
                c.close();
            }
            // A drain that gives up: false, and the op ends cancelled.
            try (KvwClient c = KvwClient.connect(server.url)) {
                Bucket b = c.openBucket("giveup", BucketOptions.createIfMissing());
                server.pause();
                try {
                    CompletableFuture<Version> f = b.putAsync("k", "v".getBytes());
                    boolean all = c.drain(Duration.ofMillis(200));
                    Object outcome = f.handle((v, e) -> e != null ? e : v).get(10, TimeUnit.SECONDS);
                    assertFalse(all, "drain said done, the op ended " + outcome);
                    assertInstanceOf(ClosedException.class, outcome);
                    assertTrue(c.drain(Duration.ZERO), "closed: nothing to wait for");
                } finally {
                    server.resume();
                }
            }
        }
    }
}
