package io.kvw;

import io.kvw.internal.kvw_native;
import java.io.Serializable;
import java.util.Objects;

/**
 * An opaque version token: what a write returns and what
 * {@link Bucket#update} / {@link Bucket#deleteWithVersion} expect. For NATS it
 * is the KV revision (the stream sequence, increasing across the whole bucket).
 *
 * <p>Immutable; equal tokens are {@link #equals equal}. {@link #toString()}
 * gives kvw's stable text form — the decimal revision ("42"), "unknown", or
 * "x:" + hex for a non-revision token — and {@link #parse} reads it back, so a
 * version can be stored and handed back later, even by another process or
 * language. Every token has exactly one text form.
 */
public final class Version implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The unknown token ("unknown"): no version. */
    public static final Version UNKNOWN = new Version("unknown", 0);

    private final String text;
    /** The revision as an unsigned 64-bit value; 0 when unknown or not a revision. */
    private final long revision;

    private Version(String text, long revision) {
        this.text = text;
        this.revision = revision;
    }

    /**
     * The token for NATS revision {@code revision}; {@link #UNKNOWN} for 0
     * (NATS has no revision 0). Negative values are read as unsigned 64-bit.
     */
    public static Version ofRevision(long revision) {
        return revision == 0 ? UNKNOWN : new Version(Long.toUnsignedString(revision), revision);
    }

    /**
     * Parses the text form made by {@link #toString()}.
     *
     * @throws InvalidVersionException if {@code text} is not a version's text form
     */
    public static Version parse(String text) {
        Objects.requireNonNull(text, "text");
        Native.init();
        if (kvw_native.kvwb_version_check(text) != 0) {
            throw new InvalidVersionException(KvwError.INVALID_VERSION.code(),
                    "not a kvw version: \"" + text + "\"", null, null, 0, null, true);
        }
        return fromCanonical(text);
    }

    /** Text known to be canonical (from kvw itself). */
    static Version fromCanonical(String text) {
        if (text.equals("unknown")) return UNKNOWN;
        if (text.startsWith("x:")) return new Version(text, 0);
        return new Version(text, Long.parseUnsignedLong(text));
    }

    /** True for the unknown token. */
    public boolean isUnknown() {
        return this == UNKNOWN || text.equals("unknown");
    }

    /** True if this token is a NATS revision ({@link #revision()} tells which). */
    public boolean isRevision() {
        return revision != 0;
    }

    /**
     * The NATS revision, as an unsigned 64-bit value (use
     * {@link Long#toUnsignedString(long)} for revisions past 2^63, which no real
     * stream reaches).
     *
     * @throws IllegalStateException for the unknown token and non-revision tokens
     */
    public long revision() {
        if (revision == 0) throw new IllegalStateException("version " + text + " is not a NATS revision");
        return revision;
    }

    /** The stable text form: "42", "unknown" or "x:0a1b…". */
    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return this == o || (o instanceof Version && ((Version) o).text.equals(text));
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    private Object readResolve() {
        return isUnknown() ? UNKNOWN : this;
    }
}
