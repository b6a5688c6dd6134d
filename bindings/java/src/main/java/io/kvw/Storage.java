package io.kvw;

/** Where a new bucket keeps its data ({@link BucketOptions.Builder#storage}). */
public enum Storage {
    FILE(0), MEMORY(1);

    final int code;

    Storage(int code) {
        this.code = code;
    }
}
