package io.kvw;

import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The latest record of several keys as of one point of the bucket's history
 * ({@link Bucket#getMany}): every write stored before that point is in it,
 * none stored after it. Immutable.
 */
public final class Snapshot {
    private final Version asOf;
    private final List<String> keys;
    private final List<Optional<Entry>> entries;

    Snapshot(Version asOf, List<String> keys, List<Optional<Entry>> entries) {
        this.asOf = asOf;
        this.keys = Collections.unmodifiableList(keys);
        this.entries = Collections.unmodifiableList(entries);
    }

    /** The point: the bucket's revision the snapshot is as of; empty when none of the keys had a record. */
    public Optional<Version> asOf() {
        return Optional.ofNullable(asOf);
    }

    /** The keys asked for, in order. */
    public List<String> keys() {
        return keys;
    }

    /**
     * One element per key asked for, in that order: the key's latest record as
     * {@link Bucket#getEntry} reports it (markers and tombstones included), or
     * empty when the key had no record.
     */
    public List<Optional<Entry>> entries() {
        return entries;
    }

    /** The record of {@code key}, empty when it had none (or was not asked for). */
    public Optional<Entry> get(String key) {
        int i = keys.indexOf(key);
        return i < 0 ? Optional.empty() : entries.get(i);
    }

    @Override
    public String toString() {
        return "Snapshot{asOf=" + asOf + ", " + entries + "}";
    }
}
