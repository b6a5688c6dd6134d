package io.kvw;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A private nats-server -js on a free loopback port with a temporary store,
 * for the tests. {@link #shared()} is one per test JVM (or the server named by
 * -Dkvw.test.server=nats://…); {@link #start()} gives a dedicated one.
 */
final class TestServer implements AutoCloseable {
    private static TestServer shared;
    private static String sharedUrl;
    private static final AtomicInteger BUCKETS = new AtomicInteger();

    final Process process;
    final Path dir;
    final String url;

    private TestServer(Process process, Path dir, String url) {
        this.process = process;
        this.dir = dir;
        this.url = url;
    }

    /** The URL of the server all tests share. */
    static synchronized String sharedUrl() {
        if (sharedUrl != null) return sharedUrl;
        String given = System.getProperty("kvw.test.server", "");
        if (given.isEmpty()) given = System.getenv().getOrDefault("KVW_TEST_SERVER", "");
        if (!given.isEmpty()) {
            sharedUrl = given;
        } else {
            shared = start();
            Runtime.getRuntime().addShutdownHook(new Thread(shared::close));
            sharedUrl = shared.url;
        }
        return sharedUrl;
    }

    /** A bucket name no other test uses. */
    static String bucketName(String prefix) {
        return prefix + "_" + ProcessHandle.current().pid() + "_" + BUCKETS.incrementAndGet();
    }

    static TestServer start() {
        try {
            Path dir = Files.createTempDirectory("kvw-java-nats");
            ProcessBuilder pb = new ProcessBuilder("nats-server", "-js", "-a", "127.0.0.1", "-p", "-1",
                    "--ports_file_dir", dir.toString(), "-sd", dir.resolve("store").toString());
            pb.redirectErrorStream(true);
            pb.redirectOutput(dir.resolve("server.log").toFile());
            Process p = pb.start();
            File ports = dir.resolve("nats-server_" + p.pid() + ".ports").toFile();
            Pattern re = Pattern.compile("\"nats\"\\s*:\\s*\\[\\s*\"([^\"]+)\"");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) throw new IllegalStateException("nats-server exited: " + log(dir));
                if (ports.isFile()) {
                    String json = new String(Files.readAllBytes(ports.toPath()), StandardCharsets.UTF_8);
                    Matcher m = re.matcher(json);
                    if (m.find()) return new TestServer(p, dir, m.group(1));
                }
                Thread.sleep(20);
            }
            p.destroyForcibly();
            throw new IllegalStateException("nats-server did not start: " + log(dir));
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot start nats-server (is it on PATH?)", e);
        }
    }

    private static String log(Path dir) {
        try {
            return new String(Files.readAllBytes(dir.resolve("server.log")), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /**
     * SIGSTOP: the server stops answering (its socket stays open). Returns
     * once every thread of it has stopped: kill returns before that, and a
     * thread still running may ack what the test sends next.
     */
    void pause() {
        signal("-STOP");
        Path tasks = Path.of("/proc/" + process.pid() + "/task");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!allStopped(tasks)) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("nats-server did not stop");
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Whether every task's state (after the last ')' of its stat line) is T. */
    private static boolean allStopped(Path tasks) {
        try (Stream<Path> s = Files.list(tasks)) {
            return s.allMatch(t -> {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    return stat.substring(stat.lastIndexOf(')') + 1).trim().startsWith("T");
                } catch (IOException e) {
                    return true; // the thread exited
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SIGCONT. */
    void resume() {
        signal("-CONT");
    }

    private void signal(String sig) {
        try {
            int rc = new ProcessBuilder("kill", sig, Long.toString(process.pid())).inheritIO().start().waitFor();
            if (rc != 0) throw new IllegalStateException("kill " + sig + " failed");
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            resume();
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
