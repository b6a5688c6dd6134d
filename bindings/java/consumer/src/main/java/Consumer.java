import io.kvw.AlreadyExistsException;
import io.kvw.Bucket;
import io.kvw.BucketOptions;
import io.kvw.ConflictException;
import io.kvw.KvwClient;
import io.kvw.Version;
import java.nio.charset.StandardCharsets;

/**
 * Put, create twice, stale update, get: exit 0 only if each does what the
 * README says. Usage: java -cp … Consumer nats://127.0.0.1:4222 [BUCKET]
 */
public final class Consumer {
    private static void fail(String what) {
        System.err.println("consumer: " + what);
        System.exit(1);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static void main(String[] args) {
        try (KvwClient client = KvwClient.connect(args[0]);
             Bucket bucket = client.openBucket(args.length > 1 ? args[1] : "java_consumer",
                     BucketOptions.createIfMissing())) {
            Version v1 = bucket.put("k", b("v1"));
            bucket.create("c", b("x"));
            try {
                bucket.create("c", b("y"));
                fail("second create was not refused");
            } catch (AlreadyExistsException expected) {
                // typed, as the README says
            }
            Version v2 = bucket.update("k", b("v2"), v1);
            try {
                bucket.update("k", b("stale"), v1);
                fail("stale update was not refused");
            } catch (ConflictException e) {
                if (!e.currentVersion().equals(java.util.Optional.of(v2))) fail("the conflict names " + e.currentVersion());
            }
            String got = bucket.get("k").map(e -> new String(e.value(), StandardCharsets.UTF_8)).orElse(null);
            if (!"v2".equals(got)) fail("get gave " + got);
            System.out.println("java consumer ok: put " + v1 + ", update " + v2
                    + ", second create and stale update refused");
        }
    }
}
