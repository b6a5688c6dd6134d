// The README's Java example. Run it against a nats-server with JetStream:
//   java -cp target/kvw-0.1.0.jar examples/Example.java nats://127.0.0.1:4222
import io.kvw.Bucket;
import io.kvw.BucketOptions;
import io.kvw.ConflictException;
import io.kvw.Entry;
import io.kvw.KvwClient;
import io.kvw.Version;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

public class Example {
    public static void main(String[] args) {
        String url = args.length > 0 ? args[0] : "nats://127.0.0.1:4222";
        try (KvwClient client = KvwClient.connect(url);
             Bucket bucket = client.openBucket("example", BucketOptions.createIfMissing())) {
            // Blocking calls return the new version...
            Version v1 = bucket.put("greeting", "hello".getBytes(StandardCharsets.UTF_8));
            Version v2 = bucket.update("greeting", "hello, world".getBytes(StandardCharsets.UTF_8), v1);
            // ...and throw a typed exception when refused.
            try {
                bucket.update("greeting", "stale".getBytes(StandardCharsets.UTF_8), v1);
            } catch (ConflictException e) {
                System.out.println("conflict as expected: " + e.errorName());
            }
            // Async calls return CompletableFutures.
            CompletableFuture<Version> f = bucket.putAsync("counter", new byte[] {0, 1, 2});
            System.out.println("async put -> version " + f.join());

            Entry e = bucket.get("greeting").orElseThrow();
            System.out.println(e.key() + " = " + e.valueAsString() + " (version " + e.version() + ")");
            System.out.println("same version as the update: " + e.version().equals(v2));
        }
    }
}
