/*
 * Java: swig -java -package io.kvw.internal -I<repo>/include \
 *            -I<repo>/bindings/common -outdir <srcdir>/io/kvw/internal \
 *            -o <builddir>/kvw_native_wrap.c bindings/java/kvw_java.i
 * Compile the wrapper with bindings/common/kvw_binding.c into
 * libkvw_native.so (JNI headers: $JAVA_HOME/include{,/linux}), link libkvw.
 * bindings/java/CMakeLists.txt does all of this; bindings/java/pom.xml runs it.
 */
%module kvw_native

/* Value bytes: byte[] in. The const variant releases the array with
 * JNI_ABORT (no copy-back); kvw copies the bytes before the call returns.
 * null passes (NULL, 0). Out: SWIGCDATA -> byte[] (see kvw.i). */
%apply (const char *STRING, size_t LENGTH) { (const void *data, size_t len) }

/* Load the JNI library from the generated module class, once:
 * NativeLoader (hand-written, same package) tries java.library.path and then
 * the copy of libkvw_native.so packed inside the jar. */
%pragma(java) jniclasscode=%{
  static {
    NativeLoader.load();
  }
%}

/* The dispatcher delete()s every completion record right after reading it,
 * and a blocking call its kvwb_call (Bucket.blocking, in finally): no
 * finalizer on those classes (objects with one are slow to allocate and
 * linger for an extra GC cycle). The other handle classes keep theirs. */
%typemap(javafinalize) kvwb_completion, struct kvwb_completion ""
%typemap(javafinalize) kvwb_call, struct kvwb_call ""

%include "../kvw.i"
