/* A failed CHECK prints where and why and lets the test go on. */
#ifndef KVW_ABI_CHECK_H
#define KVW_ABI_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)                                                \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                               \
            fputc('\n', stderr);                                        \
            check_failures++;                                           \
        }                                                               \
    } while (0)

/* Exit status for ctest; 77 marks a skip (SKIP_RETURN_CODE). */
#define CHECK_SKIP 77
#define CHECK_STATUS() (check_failures ? 1 : 0)

#endif /* KVW_ABI_CHECK_H */
