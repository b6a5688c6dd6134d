package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/**
 * Issue 16's cluster scenario through Java, with the faults: 8 threads put,
 * get and update 4 keys of an R3 bucket through one client while the
 * stream leader is SIGKILLed and restarted, and later the new leader is
 * SIGSTOPped for 2 s. The same counts as the C and Go runs: no op fails
 * before its deadline, no get is older than an op completed before it was
 * called, a stale CAS is a ConflictException. It starts its own 3-node
 * cluster (it kills nodes).
 */
class ClusterFaultTest {
    private static final Duration DEADLINE = Duration.ofSeconds(5);

    /** Three nodes on loopback with free ports and their own stores. */
    static final class Cluster implements AutoCloseable {
        final Path dir;
        final int[] client = new int[3], route = new int[3];
        final Process[] node = new Process[3];

        Cluster() throws IOException {
            dir = Files.createTempDirectory("kvw-java-cluster");
            for (int i = 0; i < 3; i++) {
                client[i] = freePort();
                route[i] = freePort();
            }
            for (int i = 0; i < 3; i++) start(i);
        }

        static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            }
        }

        String url(int i) {
            return "nats://127.0.0.1:" + client[i];
        }

        String urls() {
            return url(0) + "," + url(1) + "," + url(2);
        }

        void start(int i) throws IOException {
            List<String> routes = new ArrayList<>();
            for (int j = 0; j < 3; j++) if (j != i) routes.add("nats://127.0.0.1:" + route[j]);
            String name = "n" + (i + 1);
            ProcessBuilder pb = new ProcessBuilder("nats-server", "-js", "-a", "127.0.0.1", "-p",
                    String.valueOf(client[i]), "--server_name", name, "--cluster_name", "kvwjava",
                    "--cluster", "nats://127.0.0.1:" + route[i], "--routes", String.join(",", routes),
                    "-sd", dir.resolve(name).toString());
            pb.redirectErrorStream(true);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
            node[i] = pb.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline) {
                try (Socket s = new Socket("127.0.0.1", client[i])) {
                    return;
                } catch (IOException e) {
                    sleep(20);
                }
            }
            throw new IllegalStateException("node " + name + " did not listen");
        }

        void kill(int i) {
            if (node[i] == null) return;
            signal(i, "CONT");
            node[i].destroyForcibly();
            try {
                node[i].waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            node[i] = null;
        }

        void signal(int i, String sig) {
            try {
                new ProcessBuilder("kill", "-" + sig, String.valueOf(node[i].pid())).start().waitFor();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The index of the stream's leader, asked of the nodes that are up. */
        int leader(String stream) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < 3; i++) {
                    if (node[i] == null) continue;
                    Options o = new Options.Builder().server(url(i)).connectionTimeout(Duration.ofSeconds(1))
                            .maxReconnects(0).build();
                    try (Connection nc = Nats.connect(o)) {
                        JetStreamManagement jsm = nc.jetStreamManagement();
                        String leader = jsm.getStreamInfo(stream).getClusterInfo().getLeader();
                        for (int j = 0; j < 3; j++)
                            if (("n" + (j + 1)).equals(leader) && node[j] != null) return j;
                    } catch (Exception e) {
                        // this node cannot tell yet
                    }
                }
                sleep(100);
            }
            throw new IllegalStateException("no leader for " + stream);
        }

        @Override
        public void close() throws IOException {
            for (int i = 0; i < 3; i++) kill(i);
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void leaderKillAndStop() throws Exception {
        assumeTrue("1".equals(System.getenv("KVW_TEST_CLUSTER_FAULTS")),
                "KVW_TEST_CLUSTER_FAULTS=1 runs it (bindings/java/run-tests.sh)");
        try (Cluster cl = new Cluster();
                KvwClient client = KvwClient.connect(ClientOptions.builder().servers(cl.urls()).opTimeout(DEADLINE)
                        .maxReconnect(-1).reconnectWait(Duration.ofMillis(100)).build())) {
            String name = TestServer.bucketName("jfault");
            Bucket bucket = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (bucket == null) {
                try {
                    bucket = client.openBucket(name, BucketOptions.builder().createIfMissing(true).replicas(3).build());
                } catch (KvwException e) {
                    if (System.nanoTime() > deadline) throw e;
                    Thread.sleep(200); // the cluster may still be forming
                }
            }
            final Bucket b = bucket;
            AtomicLongArray seen = new AtomicLongArray(4);
            AtomicLong ops = new AtomicLong(), stale = new AtomicLong(), conflicts = new AtomicLong(),
                    failed = new AtomicLong(), early = new AtomicLong(), misreported = new AtomicLong();
            long start = System.nanoTime(), until = start + Duration.ofSeconds(12).toNanos();
            Thread[] threads = new Thread[8];
            for (int t = 0; t < threads.length; t++) {
                final int id = t;
                threads[t] = new Thread(() -> {
                    Random r = new Random(id);
                    Version[] mine = new Version[4];
                    while (System.nanoTime() < until) {
                        int k = r.nextInt(4), what = r.nextInt(3);
                        String key = "k" + k;
                        long t0 = System.nanoTime();
                        ops.incrementAndGet();
                        try {
                            if (what == 0) {
                                long before = seen.get(k);
                                Optional<Entry> e = b.getEntry(key);
                                long got = e.map(x -> x.version().revision()).orElse(0L);
                                if (got < before) stale.incrementAndGet();
                                if (e.isPresent()) mine[k] = e.get().version();
                                seen.accumulateAndGet(k, got, Math::max);
                                continue;
                            }
                            byte[] v = (id + "." + t0).getBytes(StandardCharsets.UTF_8);
                            Version got = what == 1 || mine[k] == null ? b.put(key, v) : b.update(key, v, mine[k]);
                            mine[k] = got;
                            seen.accumulateAndGet(k, got.revision(), Math::max);
                        } catch (ConflictException e) {
                            conflicts.incrementAndGet();
                        } catch (KvwException e) {
                            failed.incrementAndGet();
                            if (System.nanoTime() - t0 < DEADLINE.minusMillis(100).toNanos()) {
                                early.incrementAndGet();
                                System.err.println("failed before its deadline: " + e);
                            }
                            // A stale CAS must be a conflict; one whose deadline passed
                            // (outcome unknown) may carry the 10164 of an earlier try.
                            if (e.serverErrorCode() == 10164 && !(e instanceof KvwTimeoutException)) {
                                misreported.incrementAndGet();
                                System.err.println("a stale CAS reported as " + e);
                            }
                        }
                    }
                });
                threads[t].start();
            }
            String stream = "KV_" + name;
            Thread.sleep(3000);
            int victim = cl.leader(stream);
            cl.kill(victim);
            Thread.sleep(1000);
            cl.start(victim);
            Thread.sleep(Math.max(0, 7000 - (System.nanoTime() - start) / 1_000_000));
            int paused = cl.leader(stream);
            cl.signal(paused, "STOP");
            Thread.sleep(2000);
            cl.signal(paused, "CONT");
            for (Thread t : threads) t.join();
            System.out.printf("FIGURES java cluster faults: %d ops in 12 s, leader n%d killed at 3 s and restarted, "
                    + "leader n%d stopped 2 s at 7 s: %d conflicts, %d failed (%d before their deadline), "
                    + "%d gets older than a completed op, %d 10164 not reported as conflicts%n", ops.get(),
                    victim + 1, paused + 1, conflicts.get(), failed.get(), early.get(), stale.get(),
                    misreported.get());
            assertEquals(0, early.get());
            // nats-server 2.9 may lose the writes its stream leader acked just
            // before a SIGKILL (RELIABILITY.md, guarantee 2; 2.10 fixed it): a
            // get after that reads the version before them. Counted, not failed,
            // there; 2.10+ (the bindings-newest stage runs this on 2.15.2) must
            // show none.
            String[] v = client.serverVersion().split("\\.");
            if (Integer.parseInt(v[0]) == 2 && Integer.parseInt(v[1]) < 10 && stale.get() > 0) {
                System.out.printf("NOTE nats-server %s: %d gets older than a completed op after a leader kill "
                        + "(a 2.9 server defect; not counted)%n", client.serverVersion(), stale.get());
            } else {
                assertEquals(0, stale.get());
            }
            assertEquals(0, misreported.get());
            assertTrue(ops.get() > 100);
        }
    }
}
