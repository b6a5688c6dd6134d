package io.kvw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvw.internal.kvw_native;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** Version tokens and their text form (no server). */
class VersionTest {

    @Test
    void revisionsFormatAsDecimal() {
        Version v = Version.ofRevision(42);
        assertEquals("42", v.toString());
        assertTrue(v.isRevision());
        assertFalse(v.isUnknown());
        assertEquals(42, v.revision());
        assertEquals("42", kvw_native.kvwb_version_from_revision(42), "same text as the C side");
        assertEquals(42, kvw_native.kvwb_version_revision(v.toString()));
    }

    @Test
    void unknown() {
        assertSame(Version.UNKNOWN, Version.ofRevision(0));
        assertSame(Version.UNKNOWN, Version.parse("unknown"));
        assertTrue(Version.UNKNOWN.isUnknown());
        assertFalse(Version.UNKNOWN.isRevision());
        assertEquals("unknown", Version.UNKNOWN.toString());
        assertThrows(IllegalStateException.class, Version.UNKNOWN::revision);
    }

    @Test
    void equalityAndHash() {
        assertEquals(Version.ofRevision(7), Version.ofRevision(7));
        assertEquals(Version.ofRevision(7).hashCode(), Version.parse("7").hashCode());
        assertNotEquals(Version.ofRevision(7), Version.ofRevision(8));
        assertNotEquals(Version.ofRevision(7), Version.UNKNOWN);
        assertNotEquals(Version.ofRevision(7), "7");
    }

    @Test
    void textRoundTrips() {
        String[] texts = {"1", "42", "9223372036854775807", "18446744073709551615", "unknown", "x:ab01ff",
                "x:" + "ee".repeat(15), "x:00"};
        for (String t : texts) {
            Version v = Version.parse(t);
            assertEquals(t, v.toString());
            assertEquals(v, Version.parse(v.toString()));
        }
        Version max = Version.parse("18446744073709551615");
        assertEquals(-1L, max.revision(), "unsigned 64-bit");
        assertEquals(max, Version.ofRevision(-1L));
        Version foreign = Version.parse("x:ab01ff");
        assertFalse(foreign.isRevision());
        assertFalse(foreign.isUnknown());
        assertThrows(IllegalStateException.class, foreign::revision);
    }

    @Test
    void junkIsRefused() {
        String[] junk = {"", " ", "abc", "-1", "+1", "42x", " 42", "42 ", "4 2", "0x2a", "1e3", "0", "042",
                "18446744073709551616", "99999999999999999999999", "x:", "x:zz", "x:abc", "X:ab", "x:0g",
                "unknownx", "Unknown", "x:00112233445566778899aabbccddeeff", "x:000000000000002a", "４２", "4\u00002"};
        for (String j : junk) {
            InvalidVersionException e = assertThrows(InvalidVersionException.class, () -> Version.parse(j), j);
            assertEquals(KvwError.INVALID_VERSION, e.error());
            assertTrue(e.getMessage().contains("not a kvw version"), e.getMessage());
        }
        assertThrows(NullPointerException.class, () -> Version.parse(null));
    }

    @Test
    void serializable() throws Exception {
        for (Version v : new Version[] {Version.ofRevision(99), Version.UNKNOWN, Version.parse("x:0102")}) {
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bo)) {
                out.writeObject(v);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray()))) {
                Object back = in.readObject();
                assertEquals(v, back);
                if (v.isUnknown()) assertSame(Version.UNKNOWN, back);
            }
        }
    }
}
