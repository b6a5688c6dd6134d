package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvwb_bucket_options;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link KvwClient#openBucket(String, BucketOptions)} opens a bucket.
 * Except for {@link Builder#createIfMissing}, the values only matter when the
 * bucket is created; an existing bucket opens as it is. Immutable.
 */
public final class BucketOptions {
    /** Open an existing bucket; fail with {@link NoSuchBucketException} if there is none. */
    public static final BucketOptions DEFAULT = builder().build();

    final boolean createIfMissing;
    final int history, replicas;
    final Duration maxAge;
    final long maxBytes;
    final int maxValueSize;
    final Storage storage;
    final boolean allowTtl;
    final Duration limitMarkerTtl;
    final Duration duplicateWindow;
    final ReadMode readMode;
    final boolean allowAtomic;
    final boolean allowBatched;
    final boolean bulk;

    private BucketOptions(Builder b) {
        readMode = b.readMode;
        allowAtomic = b.allowAtomic;
        allowBatched = b.allowBatched;
        bulk = b.bulk;
        duplicateWindow = b.duplicateWindow;
        allowTtl = b.allowTtl;
        limitMarkerTtl = b.limitMarkerTtl;
        createIfMissing = b.createIfMissing;
        history = b.history;
        replicas = b.replicas;
        maxAge = b.maxAge;
        maxBytes = b.maxBytes;
        maxValueSize = b.maxValueSize;
        storage = b.storage;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options that create the bucket with kvw's defaults when it is missing. */
    public static BucketOptions createIfMissing() {
        return builder().createIfMissing(true).build();
    }

    kvwb_bucket_options toNative() {
        kvwb_bucket_options o = kvw_native.kvwb_bucket_options_new();
        if (o == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), null, null);
        try {
            check(kvw_native.kvwb_bucket_options_set_create_if_missing(o, createIfMissing ? 1 : 0), "createIfMissing");
            check(kvw_native.kvwb_bucket_options_set_history(o, history), "history");
            check(kvw_native.kvwb_bucket_options_set_replicas(o, replicas), "replicas");
            check(kvw_native.kvwb_bucket_options_set_max_age_ms(o, ClientOptions.millis(maxAge)), "maxAge");
            check(kvw_native.kvwb_bucket_options_set_max_bytes(o, maxBytes), "maxBytes");
            check(kvw_native.kvwb_bucket_options_set_max_value_size(o, maxValueSize), "maxValueSize");
            check(kvw_native.kvwb_bucket_options_set_storage(o, storage.code), "storage");
            check(kvw_native.kvwb_bucket_options_set_allow_ttl(o, allowTtl ? 1 : 0), "allowTtl");
            check(kvw_native.kvwb_bucket_options_set_limit_marker_ttl_ms(o, ClientOptions.millis(limitMarkerTtl)),
                    "limitMarkerTtl");
            check(kvw_native.kvwb_bucket_options_set_duplicate_window_ms(o, ClientOptions.millis(duplicateWindow)),
                    "duplicateWindow");
            check(kvw_native.kvwb_bucket_options_set_read_mode(o, readMode.code), "readMode");
            check(kvw_native.kvwb_bucket_options_set_allow_atomic(o, allowAtomic ? 1 : 0), "allowAtomic");
            check(kvw_native.kvwb_bucket_options_set_allow_batched(o, allowBatched ? 1 : 0), "allowBatched");
            check(kvw_native.kvwb_bucket_options_set_bulk(o, bulk ? 1 : 0), "bulk");
            return o;
        } catch (RuntimeException e) {
            o.delete();
            throw e;
        }
    }

    private static void check(int rc, String what) {
        if (rc != 0) {
            throw KvwException.create(rc, "bucket option " + what + " refused", null, null, 0, null, true);
        }
    }

    /** Builds {@link BucketOptions}. Not thread-safe. */
    public static final class Builder {
        private boolean createIfMissing;
        private int history = 1, replicas = 1;
        private Duration maxAge = Duration.ZERO;
        private long maxBytes;
        private int maxValueSize;
        private Storage storage = Storage.FILE;
        private boolean allowTtl;
        private Duration limitMarkerTtl = Duration.ZERO;
        private Duration duplicateWindow = Duration.ZERO;
        private ReadMode readMode = ReadMode.CHECKED;
        private boolean allowAtomic;
        private boolean allowBatched;
        private boolean bulk;

        private Builder() {}

        /**
         * The bucket takes fast-ingest batches (stream allow_batched); needs
         * nats-server 2.14+, else {@link NotSupportedException}. Used only
         * when the bucket is created [false].
         */
        public Builder allowBatched(boolean allow) {
            this.allowBatched = allow;
            return this;
        }

        /**
         * This handle's put, delete and purge (and their async forms) go as
         * fast-ingest batches, for loaders (kvw.h, BULK WRITES): the server
         * acks every few hundred writes instead of each. A write's
         * {@link Version} is exact only for the last write of a batch (else
         * unknown). Needs {@link Feature#FAST_BATCH}, else opening the
         * bucket throws {@link NotSupportedException} [false].
         */
        public Builder bulk(boolean bulk) {
            this.bulk = bulk;
            return this;
        }

        /**
         * The bucket takes transactions ({@link Bucket#transaction()}); needs
         * nats-server 2.12+, else {@link NotSupportedException} [false].
         */
        public Builder allowAtomic(boolean allow) {
            this.allowAtomic = allow;
            return this;
        }

        /** How this handle's reads see replicas, also for an existing bucket [CHECKED]. */
        public Builder readMode(ReadMode mode) {
            this.readMode = Objects.requireNonNull(mode);
            return this;
        }

        /**
         * How long the stream remembers write ids; kvw resends a write only
         * within it, so keep it above the op timeout [zero: 30 s, or
         * maxAge when shorter].
         */
        public Builder duplicateWindow(Duration window) {
            this.duplicateWindow = Objects.requireNonNull(window);
            return this;
        }

        /**
         * Keys may carry their own TTL ({@code createAsync(key, value, ttl)}…);
         * needs nats-server 2.11+, else {@link NotSupportedException} [false].
         */
        public Builder allowTtl(boolean allow) {
            this.allowTtl = allow;
            return this;
        }

        /**
         * When a key's last value ages out (maxAge or its TTL) the server
         * leaves a purge marker that lives this long; whole seconds; implies
         * {@link #allowTtl} [zero: no markers].
         */
        public Builder limitMarkerTtl(Duration ttl) {
            this.limitMarkerTtl = Objects.requireNonNull(ttl);
            return this;
        }

        /** Create the bucket when it does not exist [false]. */
        public Builder createIfMissing(boolean create) {
            this.createIfMissing = create;
            return this;
        }

        /** Values kept per key, 1..64 [1]. */
        public Builder history(int history) {
            this.history = history;
            return this;
        }

        /** Entries expire after this; zero: never [zero]. */
        public Builder maxAge(Duration maxAge) {
            this.maxAge = Objects.requireNonNull(maxAge);
            return this;
        }

        /** Bucket size limit in bytes; 0: unlimited [0]. */
        public Builder maxBytes(long maxBytes) {
            this.maxBytes = maxBytes;
            return this;
        }

        /** Largest value in bytes; 0: the server's limit [0]. */
        public Builder maxValueSize(int maxValueSize) {
            this.maxValueSize = maxValueSize;
            return this;
        }

        /** Stream replicas, 1..5 [1]. */
        public Builder replicas(int replicas) {
            this.replicas = replicas;
            return this;
        }

        /** File or memory storage [FILE]. */
        public Builder storage(Storage storage) {
            this.storage = Objects.requireNonNull(storage);
            return this;
        }

        public BucketOptions build() {
            return new BucketOptions(this);
        }
    }
}
