/*
 * Go: swig -go -cgo -intgosize 64 -I<repo>/include -I<repo>/bindings/common \
 *          -outdir <pkgdir> -o <pkgdir>/kvw_native_wrap.c bindings/go/kvw_go.i
 * Keep the generated .go and _wrap.c in the same package directory (swig
 * #1734) and compile bindings/common/kvw_binding.c into that package too.
 */
%module kvw_native

/* Value bytes: []byte in. The slice is only read during the call (kvw
 * copies it before returning), so no Go pointer is kept by C. A nil or
 * empty slice passes (NULL, 0). Out: SWIGCDATA -> []byte (see kvw.i). */
%typemap(gotype) (const void *data, size_t len) "[]byte"
%typemap(in) (const void *data, size_t len) %{
  $1 = $input.array;
  $2 = (size_t)$input.len;
%}

%include "../kvw.i"
