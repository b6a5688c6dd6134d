/* Public struct layouts and constants match the released ABI (baseline.h). */
#include <stddef.h>
#include <stdint.h>

#include <kvw/kvw.h>

#include "baseline.h"
#include "check.h"

int main(void)
{
#define CONSTANT(name, value) \
    CHECK((long)(name) == (long)(value), "%s is %ld, released as %ld", #name, (long)(name), (long)(value));
    KVW_ABI_CONSTANTS(CONSTANT)
#define OPTIONS_VERSION(name, value) \
    CHECK((long)(name) >= (long)(value), "%s is %ld, released as %ld", #name, (long)(name), (long)(value));
    KVW_ABI_OPTIONS_VERSIONS(OPTIONS_VERSION)

    /* Enums travel as int in results, options and callbacks. */
    CHECK(sizeof(kvw_error) == sizeof(int), "sizeof(kvw_error) != sizeof(int)");
    CHECK(sizeof(kvw_delivery) == sizeof(int), "sizeof(kvw_delivery) != sizeof(int)");
    CHECK(sizeof(kvw_storage) == sizeof(int), "sizeof(kvw_storage) != sizeof(int)");
    CHECK(sizeof(kvw_op) == sizeof(int), "sizeof(kvw_op) != sizeof(int)");
    CHECK(sizeof(kvw_entry_op) == sizeof(int), "sizeof(kvw_entry_op) != sizeof(int)");

#if defined(__LP64__) && (defined(__x86_64__) || defined(__aarch64__))
#define SIZE(type, size) \
    CHECK(sizeof(type) == (size), "sizeof(%s) is %zu, released as %zu", #type, sizeof(type), (size_t)(size));
#define FIELD(type, field, offset, size)                                                      \
    CHECK(offsetof(type, field) == (offset) && sizeof(((type *)0)->field) == (size),          \
          "%s.%s is at %zu (size %zu), released at %zu (size %zu)", #type, #field,             \
          offsetof(type, field), sizeof(((type *)0)->field), (size_t)(offset), (size_t)(size));
    KVW_ABI_SIZES(SIZE)
    KVW_ABI_VERSION_FIELDS(FIELD)
    KVW_ABI_CLIENT_OPTIONS_FIELDS(FIELD)
    KVW_ABI_BUCKET_OPTIONS_FIELDS(FIELD)
    KVW_ABI_RESULT_FIELDS(FIELD)
    return CHECK_STATUS();
#else
    fprintf(stderr, "struct layouts are recorded for LP64 x86_64/aarch64 only\n");
    return check_failures ? 1 : CHECK_SKIP;
#endif
}
