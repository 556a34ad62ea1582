/* Query execution, independent of HTTP: the server and embedding programs
 * call these with parsed arguments and get a status and an encoded body. */
#ifndef ED_QUERY_QUERY_H
#define ED_QUERY_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "streams/engine.h"

/* Every ed_query_* call returns the HTTP status of its answer (200, 404,
 * 503, ...) and appends the JSON body to @p out. Error bodies have the shape
 * {"error":{"code":"not_found|bad_request|unavailable|...","message":"..."}}.
 * A 503 means the caller should send Retry-After. */

/* GET /v1/views */
int ed_query_views(ed_engine_t *e, ed_buf_t *out);

/* Options of a key lookup. Zero-initialized: none. */
typedef struct {
  int has_from, has_to; /* 1: the bound below is set */
  int64_t from, to;     /* windowed views: bounds on the window start, epoch ms,
                           both inclusive */
} ed_query_key_opts_t;

/* GET /v1/views/{view}/keys/{key}; @p key is the decoded key bytes; @p opts
 * (borrowed for the call) may be NULL for none. A table or latest view
 * answers {"key","value","partition","offset"}; a windowed or session view
 * {"key","windows":[{"start","end","value"},..],"partition","offset",
 * "stream_time"} (404 when no window is in range). from/to on a view that is
 * not windowed, or from > to, is a 400. */
int ed_query_get_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                     size_t key_len, const ed_query_key_opts_t *opts, ed_buf_t *out);

/* Appends an error body; returns @p status for convenience. */
int ed_query_error(ed_buf_t *out, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
