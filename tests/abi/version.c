/*
 * The header's version matches the library's and the project's, and
 * kvw_library_check_version() applies the rule kvw.h states: same major,
 * library minor >= header minor.
 */
#include <stdio.h>
#include <string.h>

#include <kvw/kvw.h>

#include "check.h"

#define NUMBER(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))

int main(void)
{
    char text[32];
    const char *lib = kvw_library_version_string();

    CHECK(KVW_CHECK_VERSION() == 0, "KVW_CHECK_VERSION() is %d", KVW_CHECK_VERSION());
    CHECK(kvw_library_version() == KVW_VERSION_NUMBER, "library %d, header %d",
          kvw_library_version(), KVW_VERSION_NUMBER);
    CHECK(lib != NULL && strcmp(lib, KVW_VERSION_STRING) == 0, "library \"%s\", header \"%s\"",
          lib ? lib : "(null)", KVW_VERSION_STRING);
    CHECK(strcmp(KVW_VERSION_STRING, KVW_PROJECT_VERSION) == 0,
          "kvw.h says %s, CMakeLists.txt project() says %s", KVW_VERSION_STRING, KVW_PROJECT_VERSION);
    snprintf(text, sizeof text, "%d.%d.%d", KVW_VERSION_MAJOR, KVW_VERSION_MINOR, KVW_VERSION_PATCH);
    CHECK(strcmp(text, KVW_VERSION_STRING) == 0, "KVW_VERSION_STRING \"%s\" but the parts say %s",
          KVW_VERSION_STRING, text);

    /* Headers this library can serve ... */
    CHECK(kvw_library_check_version(NUMBER(KVW_VERSION_MAJOR, KVW_VERSION_MINOR, KVW_VERSION_PATCH + 1)) == 0,
          "a header with a newer patch level is refused");
    if (KVW_VERSION_MINOR > 0)
        CHECK(kvw_library_check_version(NUMBER(KVW_VERSION_MAJOR, KVW_VERSION_MINOR - 1, 0)) == 0,
              "a header with an older minor version is refused");
    /* ... and headers it cannot. */
    CHECK(kvw_library_check_version(NUMBER(KVW_VERSION_MAJOR, KVW_VERSION_MINOR + 1, 0)) != 0,
          "a header with a newer minor version is accepted");
    CHECK(kvw_library_check_version(NUMBER(KVW_VERSION_MAJOR + 1, 0, 0)) != 0,
          "a header with the next major version is accepted");
    if (KVW_VERSION_MAJOR > 0)
        CHECK(kvw_library_check_version(NUMBER(KVW_VERSION_MAJOR - 1, 99, 0)) != 0,
              "a header with an older major version is accepted");
    return CHECK_STATUS();
}
