/* Export macro: only functions marked KVW_API leave libkvw (built with
 * -fvisibility=hidden); everything else stays private to the library. */
#ifndef KVW_EXPORT_H
#define KVW_EXPORT_H

#if defined(KVW_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#define KVW_API __attribute__((visibility("default")))
#else
#define KVW_API
#endif

#endif /* KVW_EXPORT_H */
