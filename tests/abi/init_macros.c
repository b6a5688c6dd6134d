/*
 * Every _INIT macro equals its _init() function, so C users (macro) and FFI
 * users (function) start from the same defaults.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kvw/kvw.h>

#include "baseline.h"
#include "check.h"

/*
 * The macro's value sits in a static object, whose padding the compiler
 * zero-fills; _init() writes into a zeroed struct. So the two compare
 * byte for byte. A second pass pre-fills with garbage, as an FFI caller's
 * fresh memory may be, and compares field by field: _init() must set them all.
 */
#define FIELD_EQUAL(type, field, offset, size)                                          \
    CHECK(memcmp(&from_macro.field, &from_fn.field, sizeof from_fn.field) == 0,          \
          "%s.%s: %s() sets it unlike the _INIT macro (%s pre-fill)", #type, #field, init_name, fill_name);

#define CHECK_INIT(type, MACRO, init, FIELDS)                                           \
    do {                                                                                \
        static const type from_macro = MACRO;                                           \
        static const unsigned char fills[] = {0x00, 0xa5};                              \
        const char *init_name = #init;                                                  \
        size_t i;                                                                       \
        for (i = 0; i < sizeof fills; i++) {                                            \
            const char *fill_name = fills[i] ? "garbage" : "zero";                      \
            type from_fn;                                                               \
            memset(&from_fn, fills[i], sizeof from_fn);                                 \
            CHECK(init(&from_fn) == 0, "%s() failed", init_name);                       \
            FIELDS(FIELD_EQUAL)                                                         \
            if (fills[i] == 0)                                                          \
                CHECK(memcmp(&from_macro, &from_fn, sizeof from_fn) == 0,               \
                      "%s and %s() differ", #MACRO, init_name);                         \
        }                                                                               \
        CHECK(init(NULL) == KVW_EINVAL, "%s(NULL) is not KVW_EINVAL", init_name);        \
    } while (0)

int main(void)
{
    CHECK_INIT(kvw_client_options, KVW_CLIENT_OPTIONS_INIT, kvw_client_options_init,
               KVW_ABI_CLIENT_OPTIONS_FIELDS);
    CHECK_INIT(kvw_bucket_options, KVW_BUCKET_OPTIONS_INIT, kvw_bucket_options_init,
               KVW_ABI_BUCKET_OPTIONS_FIELDS);

    {
        static const kvw_version unknown = KVW_VERSION_UNKNOWN_INIT;
        kvw_version from_fn;
        memset(&from_fn, 0xa5, sizeof from_fn);
        from_fn = kvw_version_from_u64(0);
        CHECK(memcmp(&unknown, &from_fn, sizeof from_fn) == 0,
              "KVW_VERSION_UNKNOWN_INIT differs from kvw_version_from_u64(0)");
        CHECK(kvw_version_is_unknown(&unknown) == 1, "KVW_VERSION_UNKNOWN_INIT is not unknown");
    }
    return CHECK_STATUS();
}
