/*
 * Compiled, never linked: the public header named by KVW_HEADER must stand
 * alone and its macros must expand without a warning, as C and as C++.
 */
#include KVW_HEADER
#include KVW_HEADER /* a second time: the include guard holds */

/* Every public header brings the export macro. */
KVW_API int kvw_header_declared(void);

#ifdef KVW_KVW_H
int kvw_header_use(void);
int kvw_header_use(void)
{
    kvw_client_options client = KVW_CLIENT_OPTIONS_INIT;
    kvw_bucket_options bucket = KVW_BUCKET_OPTIONS_INIT;
    kvw_version version = KVW_VERSION_UNKNOWN_INIT;
    kvw_write_cb on_write = NULL;
    kvw_read_cb on_read = NULL;
#ifdef KVW_KVW_UV_H
    struct uv_loop_s *loop = NULL; /* uv_loop_t without <uv.h> */
    kvw_client_options_use_uv(&client, loop);
#endif
    (void)on_write;
    (void)on_read;
    return KVW_CHECK_VERSION() + client.max_reconnect + bucket.history + version.len
           + KVW_VERSION_NUMBER + KVW_VERSION_STRING[0];
}
#endif
