package io.kvw;

/** What the latest record of a key is (see {@link Bucket#getEntry(String)}). */
public enum EntryOperation {
    /** A value; possibly empty (the tombstone left by {@code deleteWithVersion}). */
    PUT,
    /** A delete marker ({@link Bucket#delete(String)}). */
    DELETE,
    /** A purge marker ({@link Bucket#purge(String)}); older history is gone. */
    PURGE;

    static EntryOperation of(int code) {
        switch (code) {
            case 1: return PUT;
            case 2: return DELETE;
            case 3: return PURGE;
            default: return null;
        }
    }
}
