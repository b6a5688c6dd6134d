package io.kvw.tools;

import io.kvw.AlreadyExistsException;
import io.kvw.Bucket;
import io.kvw.BucketOptions;
import io.kvw.ConflictException;
import io.kvw.Entry;
import io.kvw.KvwClient;
import io.kvw.KvwException;
import io.kvw.Version;
import java.util.Optional;

/**
 * The cross-language test's command-line program (run through xlang.sh):
 *
 * <pre>
 *   --server URL --bucket NAME put KEY HEX               version; exit 0
 *   --server URL --bucket NAME update KEY HEX VERSION    version; exit 3 on conflict
 *   --server URL --bucket NAME get KEY                   hex value, then version; exit 4 if not found
 *   --server URL --bucket NAME create KEY HEX            version; exit 3 if it already exists
 * </pre>
 * The bucket is opened with create-if-missing. Other failures: exit 1, usage: exit 2.
 */
public final class XLang {
    private XLang() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        String server = null, bucketName = null;
        int i = 0;
        while (i + 1 < args.length && args[i].startsWith("--")) {
            if (args[i].equals("--server")) server = args[i + 1];
            else if (args[i].equals("--bucket")) bucketName = args[i + 1];
            else return usage("unknown option " + args[i]);
            i += 2;
        }
        if (server == null || bucketName == null || i >= args.length) return usage("missing arguments");
        String cmd = args[i++];
        String[] rest = java.util.Arrays.copyOfRange(args, i, args.length);
        int want;
        switch (cmd) {
            case "put": case "create": want = 2; break;
            case "update": want = 3; break;
            case "get": want = 1; break;
            default: return usage("unknown command " + cmd);
        }
        if (rest.length != want) return usage(cmd + " takes " + want + " arguments");
        try (KvwClient client = KvwClient.connect(server);
             Bucket bucket = client.openBucket(bucketName, BucketOptions.createIfMissing())) {
            switch (cmd) {
                case "put":
                    System.out.println(bucket.put(rest[0], unhex(rest[1])));
                    return 0;
                case "create":
                    try {
                        System.out.println(bucket.create(rest[0], unhex(rest[1])));
                        return 0;
                    } catch (AlreadyExistsException e) {
                        System.err.println(e.getMessage());
                        return 3;
                    }
                case "update":
                    try {
                        System.out.println(bucket.update(rest[0], unhex(rest[1]), Version.parse(rest[2])));
                        return 0;
                    } catch (ConflictException e) {
                        System.err.println(e.getMessage());
                        return 3;
                    }
                default: {
                    Optional<Entry> e = bucket.get(rest[0]);
                    if (e.isEmpty()) {
                        System.err.println("not found: " + rest[0]);
                        return 4;
                    }
                    System.out.println(hex(e.get().value()));
                    System.out.println(e.get().version());
                    return 0;
                }
            }
        } catch (KvwException | IllegalArgumentException e) {
            System.err.println("xlang: " + e.getMessage());
            return 1;
        }
    }

    private static int usage(String why) {
        System.err.println("xlang: " + why + "\nusage: xlang.sh --server URL --bucket NAME "
                + "put KEY HEX | update KEY HEX VERSION | get KEY | create KEY HEX");
        return 2;
    }

    static byte[] unhex(String s) {
        if (s.length() % 2 != 0) throw new IllegalArgumentException("odd-length hex: " + s);
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = Character.digit(s.charAt(2 * i), 16), lo = Character.digit(s.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) throw new IllegalArgumentException("not hex: " + s);
            b[i] = (byte) (hi << 4 | lo);
        }
        return b;
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(b.length * 2);
        for (byte x : b) s.append(Character.forDigit(x >> 4 & 15, 16)).append(Character.forDigit(x & 15, 16));
        return s.toString();
    }
}
