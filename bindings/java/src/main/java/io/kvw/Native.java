package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvw_nativeConstants;

/** Loads the JNI module once, checks the linked libkvw, and caches static strings. */
final class Native {
    private static final String[] NAMES = new String[22];
    private static final boolean[] RETRYABLE = new boolean[22];
    private static final boolean[] UNKNOWN_OUTCOME = new boolean[22];

    static {
        int header = kvw_nativeConstants.KVW_VERSION_NUMBER;
        if (kvw_native.kvw_library_check_version(header) != 0) {
            throw new UnsatisfiedLinkError("kvw: the linked libkvw " + kvw_native.kvw_library_version_string()
                    + " cannot serve this binding (built with kvw.h " + header / 10000 + "."
                    + header / 100 % 100 + "." + header % 100 + ")");
        }
        for (int i = 0; i < NAMES.length; i++) {
            NAMES[i] = kvw_native.kvw_err_name(-i);
            RETRYABLE[i] = kvw_native.kvw_err_is_retryable(-i) != 0;
            UNKNOWN_OUTCOME[i] = kvw_native.kvw_err_outcome_unknown(-i) != 0;
        }
    }

    private Native() {}

    /** Forces loading (and the version check). */
    static void init() {}

    static String errName(int code) {
        return code <= 0 && -code < NAMES.length ? NAMES[-code] : kvw_native.kvw_err_name(code);
    }

    static String strerror(int code) {
        return kvw_native.kvw_strerror(code);
    }

    static boolean isRetryable(int code) {
        return code <= 0 && -code < RETRYABLE.length ? RETRYABLE[-code] : kvw_native.kvw_err_is_retryable(code) != 0;
    }

    static boolean isOutcomeUnknown(int code) {
        return code <= 0 && -code < UNKNOWN_OUTCOME.length
                ? UNKNOWN_OUTCOME[-code] : kvw_native.kvw_err_outcome_unknown(code) != 0;
    }
}
