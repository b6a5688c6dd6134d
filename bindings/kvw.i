/*
 * kvw.i — the language-neutral SWIG interface of kvw.
 *
 * Not used on its own: each language's thin file (bindings/go/kvw_go.i,
 * bindings/java/kvw_java.i, bindings/ruby/kvw_ruby.i) declares %module, maps
 * (const void *data, size_t len) to its byte type and then %includes this
 * file. Everything exposed here is plain data, int/int64 and strings: no C
 * function pointer, no uint64 (Java would get BigInteger), no out-parameter.
 *
 * Exposed:
 *   - the binding shim bindings/common/kvw_binding.h (kvwb_*): clients,
 *     buckets, options, the submit functions, kvwb_wait/kvwb_next, blocking
 *     calls (kvwb_call_*), transactions (kvwb_txn_*), the completion record
 *     and version helpers in text form;
 *   - a callback-free subset of <kvw/kvw.h>: error codes and their helpers,
 *     op / entry / storage constants, key and bucket-name checks, library
 *     version. The raw callback-taking kvw_* functions are not declared here,
 *     so SWIG never sees them (nothing to %ignore).
 *
 * Build: swig -I<repo>/include -I<repo>/bindings/common ... and compile the
 * generated wrapper together with bindings/common/kvw_binding.c, linking
 * libkvw (pkg-config kvw). See bindings/DESIGN.md.
 */

%{
#include "kvw_binding.h"
%}

%include <stdint.i>

/* Binary-safe bytes out of a completion: SWIGCDATA becomes []byte (Go),
 * byte[] (Java), a binary String (Ruby), by the typemaps of each language's
 * cdata.i. %import takes those typemaps without the raw-pointer functions
 * cdata() and memmove() that cdata.i would also wrap; the struct it would
 * have emitted is declared here with each language's length type. */
%import <cdata.i>
%{
typedef struct SWIGCDATA {
    char *data;
#if defined(SWIGGO)
    intgo len;
#elif defined(SWIGJAVA)
    int len;
#else
    size_t len;
#endif
} SWIGCDATA;
%}

/* ================================================= <kvw/kvw.h> (subset) */

%constant int KVW_VERSION_NUMBER = KVW_VERSION_NUMBER; /* header the module was built with */
%constant int KVW_VERSION_STRLEN = KVW_VERSION_STRLEN;
%constant int KVW_KEY_MAX = KVW_KEY_MAX;
%constant int KVW_NO_RECONNECT = KVW_NO_RECONNECT; /* max_reconnect: never reconnect */
%constant int KVW_RESEND_NEVER = KVW_RESEND_NEVER; /* resend_after_ms: one send, no write id */

/* kvw_error */
%constant int KVW_OK = KVW_OK;
%constant int KVW_EINVAL = KVW_EINVAL;
%constant int KVW_EBADKEY = KVW_EBADKEY;
%constant int KVW_EBADNAME = KVW_EBADNAME;
%constant int KVW_EBADVERSION = KVW_EBADVERSION;
%constant int KVW_ETOOBIG = KVW_ETOOBIG;
%constant int KVW_EEXIST = KVW_EEXIST;
%constant int KVW_ECONFLICT = KVW_ECONFLICT;
%constant int KVW_ENOTFOUND = KVW_ENOTFOUND;
%constant int KVW_ETIMEDOUT = KVW_ETIMEDOUT;
%constant int KVW_ENOTCONN = KVW_ENOTCONN;
%constant int KVW_ENOBUCKET = KVW_ENOBUCKET;
%constant int KVW_EFULL = KVW_EFULL;
%constant int KVW_ECLOSED = KVW_ECLOSED;
%constant int KVW_EBUSY = KVW_EBUSY;
%constant int KVW_ENOMEM = KVW_ENOMEM;
%constant int KVW_EAUTH = KVW_EAUTH;
%constant int KVW_EPERM = KVW_EPERM;
%constant int KVW_ETLS = KVW_ETLS;
%constant int KVW_ESERVER = KVW_ESERVER;
%constant int KVW_EINTERNAL = KVW_EINTERNAL;
%constant int KVW_ENOTSUP = KVW_ENOTSUP;
%constant int KVW_EBADTTL = KVW_EBADTTL;

/* per-key TTL and kvw_feature */
%constant int KVW_TTL_NEVER = KVW_TTL_NEVER;
%constant int KVW_FEATURE_TTL = KVW_FEATURE_TTL;
%constant int KVW_FEATURE_TTL_ON_WRITE = KVW_FEATURE_TTL_ON_WRITE;
%constant int KVW_FEATURE_LIMIT_MARKERS = KVW_FEATURE_LIMIT_MARKERS;
%constant int KVW_FEATURE_ATOMIC_BATCH = KVW_FEATURE_ATOMIC_BATCH;
%constant int KVW_FEATURE_FAST_BATCH = KVW_FEATURE_FAST_BATCH;
%constant int KVW_FEATURE_GET_MANY = KVW_FEATURE_GET_MANY;

/* kvw_op */
%constant int KVW_OP_PUT = KVW_OP_PUT;
%constant int KVW_OP_CREATE = KVW_OP_CREATE;
%constant int KVW_OP_UPDATE = KVW_OP_UPDATE;
%constant int KVW_OP_DELETE = KVW_OP_DELETE;
%constant int KVW_OP_DELETE_WITH_VERSION = KVW_OP_DELETE_WITH_VERSION;
%constant int KVW_OP_PURGE = KVW_OP_PURGE;
%constant int KVW_OP_GET = KVW_OP_GET;
%constant int KVW_OP_GET_ENTRY = KVW_OP_GET_ENTRY;
%constant int KVW_OP_TXN = KVW_OP_TXN;
%constant int KVW_OP_GET_MANY = KVW_OP_GET_MANY;
%constant int KVW_GET_MANY_MAX = KVW_GET_MANY_MAX;
%constant int KVW_TXN_MAX_WRITES = KVW_TXN_MAX_WRITES;

/* kvw_entry_op */
%constant int KVW_ENTRY_NONE = KVW_ENTRY_NONE;
%constant int KVW_ENTRY_PUT = KVW_ENTRY_PUT;
%constant int KVW_ENTRY_DELETE = KVW_ENTRY_DELETE;
%constant int KVW_ENTRY_PURGE = KVW_ENTRY_PURGE;

/* kvw_storage */
%constant int KVW_STORAGE_FILE = KVW_STORAGE_FILE;
%constant int KVW_STORAGE_MEMORY = KVW_STORAGE_MEMORY;

/* kvw_read_mode */
%constant int KVW_READ_CHECKED = KVW_READ_CHECKED;
%constant int KVW_READ_DIRECT = KVW_READ_DIRECT;
%constant int KVW_READ_LEADER = KVW_READ_LEADER;

/* Static strings and plain ints only (the C compiler checks these against
 * the real declarations in kvw.h when it compiles the wrapper). */
int kvw_library_version(void);
const char *kvw_library_version_string(void);
int kvw_library_check_version(int header_version);
const char *kvw_strerror(int code);
const char *kvw_err_name(int code);
int kvw_err_is_retryable(int code);
int kvw_err_outcome_unknown(int code);
int kvw_key_check(const char *key);
int kvw_bucket_name_check(const char *name);
const char *kvw_op_name(int op);
const char *kvw_entry_op_name(int entry_op);
const char *kvw_feature_name(int feature);

/* ================================================= the shim (kvwb_*) */

/* Opaque C handles become proxy classes whose destructor (GC finaliser in
 * Java/Ruby, DeleteX in Go) calls the matching kvwb_*_free. The empty
 * bodies are for SWIG only; C never sees them. *_new hands ownership to
 * the proxy; an explicit kvwb_*_free takes it back (no double free). */
%define KVWB_HANDLE(TYPE)
%nodefaultctor TYPE;
%nodefaultdtor TYPE;
typedef struct TYPE {} TYPE;
%extend TYPE { ~TYPE() { TYPE##_free($self); } }
%newobject TYPE##_new;
%delobject TYPE##_free;
%enddef

KVWB_HANDLE(kvwb_client_options)
KVWB_HANDLE(kvwb_bucket_options)
KVWB_HANDLE(kvwb_client)
KVWB_HANDLE(kvwb_bucket)
KVWB_HANDLE(kvwb_call)
KVWB_HANDLE(kvwb_txn)

/* The completion record: read-only getters for every field; the value
 * bytes through value_bytes() (binary-safe), not the raw char* member. */
%nodefaultctor kvwb_completion;
%nodefaultdtor kvwb_completion;
%immutable;
%ignore kvwb_completion::value;
%ignore kvwb_completion::entries_; /* kvwb_completion_entry(rec, i) */
%extend kvwb_completion {
    ~kvwb_completion() { kvwb_completion_free($self); }
    /* A copy of the value bytes (NUL bytes included). */
    SWIGCDATA value_bytes() {
        SWIGCDATA d;
        d.data = (char *)$self->value;
        d.len = $self->value_len;
        return d;
    }
}
%newobject kvwb_next;
%newobject kvwb_call_result;
%delobject kvwb_completion_free;

%newobject kvwb_version_from_revision; /* malloc'd char *: the wrapper frees it */

%include "kvw_binding.h"
%mutable;
