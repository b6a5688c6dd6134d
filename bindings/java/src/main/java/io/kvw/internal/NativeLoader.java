package io.kvw.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads libkvw_native.so (SWIG's JNI wrapper + the binding shim) once, from
 * the first of:
 * <ol>
 *   <li>the file named by the system property {@code kvw.native.library};</li>
 *   <li>{@code java.library.path} ({@code System.loadLibrary("kvw_native")});</li>
 *   <li>the copy inside the jar, {@code /native/<os>-<arch>/libkvw_native.so},
 *       extracted to a temporary directory, which is removed once loaded.</li>
 * </ol>
 * The jar's module has no RUNPATH: it needs libkvw.so.0 (and nats.c) from the
 * system's library search path (ldconfig) or LD_LIBRARY_PATH, and says so when
 * it is missing. Called from the static initialiser of the generated
 * {@code kvw_nativeJNI}; not part of the public API.
 */
public final class NativeLoader {
    private static final String LIB = "kvw_native";
    private static boolean loaded;

    private NativeLoader() {}

    /** The resource path of the module inside the jar, for this platform. */
    public static String resourcePath() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) os = "linux";
        if (arch.equals("amd64")) arch = "x86_64";
        if (arch.equals("arm64")) arch = "aarch64";
        return "/native/" + os + "-" + arch + "/" + System.mapLibraryName(LIB);
    }

    public static synchronized void load() {
        if (loaded) return;
        String explicit = System.getProperty("kvw.native.library");
        if (explicit != null && !explicit.isEmpty()) {
            System.load(Path.of(explicit).toAbsolutePath().toString());
            loaded = true;
            return;
        }
        UnsatisfiedLinkError fromPath;
        try {
            System.loadLibrary(LIB);
            loaded = true;
            return;
        } catch (UnsatisfiedLinkError e) {
            fromPath = e;
        }
        String res = resourcePath();
        try (InputStream in = NativeLoader.class.getResourceAsStream(res)) {
            if (in == null) {
                UnsatisfiedLinkError e = new UnsatisfiedLinkError(
                        "kvw: libkvw_native.so is neither on java.library.path nor in the jar at " + res);
                e.addSuppressed(fromPath);
                throw e;
            }
            Path dir = Files.createTempDirectory("kvw-native");
            Path file = dir.resolve(System.mapLibraryName(LIB));
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            try {
                System.load(file.toString());
                loaded = true;
            } catch (UnsatisfiedLinkError e) {
                throw missingLibkvw(e);
            } finally {
                removeExtracted(dir, file);
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("kvw: cannot extract " + res + ": " + e);
            err.addSuppressed(fromPath);
            throw err;
        }
    }

    /** The loader's "libkvw.so.0: cannot open shared object file", with what to do about it. */
    private static UnsatisfiedLinkError missingLibkvw(UnsatisfiedLinkError e) {
        String m = String.valueOf(e.getMessage());
        if (!m.contains("libkvw.so")) return e;
        UnsatisfiedLinkError err = new UnsatisfiedLinkError("kvw: libkvw.so.0 not found: install libkvw "
                + "(cmake --install build --prefix PREFIX; ldconfig for /usr/local) or run with "
                + "LD_LIBRARY_PATH=PREFIX/lib (" + m + ")");
        err.initCause(e);
        return err;
    }

    // A loaded module keeps its mapping after its file is gone (Linux), so the
    // copy goes at once: a killed JVM leaves nothing in the temp directory.
    // Where that is refused, it goes at exit (deleteOnExit runs in reverse
    // order of registration: the file, then the directory).
    private static void removeExtracted(Path dir, Path file) {
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            dir.toFile().deleteOnExit();
            file.toFile().deleteOnExit();
        }
    }
}
