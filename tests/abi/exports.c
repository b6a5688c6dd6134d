/*
 * Links every function of the ABI baseline, so one that libkvw stops
 * exporting fails the link, and one whose declaration in kvw.h changes
 * fails the compile (-Werror). `exports --list` prints the names for
 * check_exports.sh, which compares them with what libkvw.so exports.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kvw/kvw.h>

#include "baseline.h"
#include "check.h"

typedef void (*any_fn)(void);

static void on_result(const kvw_result *result, void *user_data)
{
    (void)result;
    (void)user_data;
}

/* Never called: its body only has to compile. */
void check_signatures(void);
void check_signatures(void)
{
#define SIGNATURE(ret, name, params) { ret(*typed) params = name; (void)typed; }
    KVW_ABI_FUNCTIONS(SIGNATURE)
    kvw_write_cb on_write = on_result;
    kvw_read_cb on_read = on_result;
    (void)on_write;
    (void)on_read;
}

#define ENTRY(ret, name, params) {#name, (any_fn)name},
static const struct {
    const char *name;
    any_fn fn;
} functions[] = {KVW_ABI_FUNCTIONS(ENTRY)};

int main(int argc, char **argv)
{
    size_t i, n = sizeof functions / sizeof functions[0];
    int list = argc > 1 && strcmp(argv[1], "--list") == 0;

    for (i = 0; i < n; i++) {
        CHECK(functions[i].fn != NULL, "%s has no address", functions[i].name);
        if (list)
            printf("%s\n", functions[i].name);
    }
    if (!list)
        printf("%zu functions linked\n", n);
    return CHECK_STATUS();
}
