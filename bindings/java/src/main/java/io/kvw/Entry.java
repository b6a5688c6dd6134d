package io.kvw;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * A key's latest record, as {@link Bucket#get} and {@link Bucket#getEntry}
 * return it. Immutable. {@link Bucket#get} only returns live values
 * ({@link #isLive()}); {@link Bucket#getEntry} returns delete / purge markers
 * and the empty-value tombstone of {@link Bucket#deleteWithVersion} too, with
 * the version to compare-and-set over.
 */
public final class Entry {
    private final String key;
    private final byte[] value;
    private final Version version;
    private final EntryOperation operation;
    private final Duration ttl; // null: none

    Entry(String key, byte[] value, Version version, EntryOperation operation, Duration ttl) {
        this.key = key;
        this.value = value;
        this.version = version;
        this.operation = operation;
        this.ttl = ttl;
    }

    /** The record's own TTL (nats-server 2.11+), {@link Bucket#TTL_NEVER}, or empty when it has none. */
    public Optional<Duration> ttl() {
        return Optional.ofNullable(ttl);
    }

    public String key() {
        return key;
    }

    /** A copy of the value bytes (empty for markers and tombstones; NUL bytes kept). */
    public byte[] value() {
        return value.clone();
    }

    /** The value decoded as UTF-8. */
    public String valueAsString() {
        return new String(value, StandardCharsets.UTF_8);
    }

    public int valueLength() {
        return value.length;
    }

    /** The record's version (the KV revision). */
    public Version version() {
        return version;
    }

    /** PUT (a value, possibly empty), DELETE or PURGE. */
    public EntryOperation operation() {
        return operation;
    }

    /** True for a non-empty value: what {@link Bucket#get} would return. */
    public boolean isLive() {
        return operation == EntryOperation.PUT && value.length > 0;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Entry)) return false;
        Entry e = (Entry) o;
        return key.equals(e.key) && Arrays.equals(value, e.value) && version.equals(e.version)
                && operation == e.operation;
    }

    @Override
    public int hashCode() {
        return (key.hashCode() * 31 + Arrays.hashCode(value)) * 31 + version.hashCode();
    }

    @Override
    public String toString() {
        return "Entry{key=" + key + ", operation=" + operation + ", version=" + version + ", "
                + value.length + " bytes}";
    }
}
