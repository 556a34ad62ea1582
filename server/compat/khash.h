/* Just enough of klib's khash.h for <h2o/http2_internal.h> (h2o 2.2), whose
 * include of "khash.h" Debian's libh2o-evloop-dev does not ship. eddy reads
 * one field of h2o_http2_conn_t (its write buffer, to free h2o's per-thread
 * buffer cache at exit: server/http.c) and never touches the stream table,
 * so the table's type only has to be an opaque pointer. */
#ifndef ED_SERVER_COMPAT_KHASH_H
#define ED_SERVER_COMPAT_KHASH_H

#include <stdint.h>

typedef uint32_t khint_t;
typedef khint_t khiter_t;

#define khash_t(name) kh_##name##_t
#define KHASH_MAP_INIT_INT64(name, khval_t) typedef struct kh_##name##_s kh_##name##_t;

/* used only by h2o_http2_conn_get_stream(), which eddy never calls */
#define kh_get(name, h, k) ((void)(h), (void)(k), (khiter_t)0)
#define kh_end(h) ((void)(h), (khiter_t)0)
#define kh_val(h, x) ((void)(h), (void)(x), (void *)0)

#endif
