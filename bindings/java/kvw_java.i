/*
 * Java: swig -java -package io.kvw.internal -I<repo>/include \
 *            -I<repo>/bindings/common -outdir <srcdir>/io/kvw/internal \
 *            -o <builddir>/kvw_native_wrap.c bindings/java/kvw_java.i
 * Compile the wrapper with bindings/common/kvw_binding.c into
 * libkvw_native.so (JNI headers: $JAVA_HOME/include{,/linux}), link libkvw.
 */
%module kvw_native

/* Value bytes: byte[] in. The const variant releases the array with
 * JNI_ABORT (no copy-back); kvw copies the bytes before the call returns.
 * null passes (NULL, 0). Out: SWIGCDATA -> byte[] (see kvw.i). */
%apply (const char *STRING, size_t LENGTH) { (const void *data, size_t len) }

/* Load the JNI library from the generated module class, once. */
%pragma(java) jniclasscode=%{
  static {
    System.loadLibrary("kvw_native");
  }
%}

%include "../kvw.i"
