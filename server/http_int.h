/* Internals of the HTTP server shared by http.c and the handler_*.c files.
 * Everything here runs on the server thread only. */
#ifndef ED_SERVER_HTTP_INT_H
#define ED_SERVER_HTTP_INT_H

/* libh2o-evloop: h2o's headers default to libuv unless told otherwise, and
 * its pkg-config file does not say so. */
#ifndef H2O_USE_LIBUV
#define H2O_USE_LIBUV 0
#endif
#include <h2o.h>

#include "common/buf.h"
#include "streams/engine.h"

/* A handler with what every eddy handler needs. */
typedef struct {
  h2o_handler_t super;
  ed_engine_t *engine; /* borrowed */
  ed_buf_t scratch;    /* body buffer reused across requests (server thread only) */
} ed__http_handler_t;

/* Creates a handler on @p pc (owned by h2o's config; freed by
 * h2o_config_dispose). */
ed__http_handler_t *ed__http_handler_create(h2o_pathconf_t *pc, ed_engine_t *engine,
                                            int (*on_req)(h2o_handler_t *, h2o_req_t *));

/* Registers GET /healthz on @p host (handler_health.c). */
void ed__handler_health_register(h2o_hostconf_t *host);

/* Registers the /v1 API on @p host (handler_views.c). */
void ed__handler_views_register(h2o_hostconf_t *host, ed_engine_t *engine);

/* The request path without its query string. Borrowed from @p req. */
h2o_iovec_t ed__http_path(const h2o_req_t *req);

/* 1 if the request method is GET. */
int ed__http_is_get(const h2o_req_t *req);

/* Sends @p body (copied into the request pool, so the caller may reuse it at
 * once) with status @p status and Content-Type @p ctype. A 503 also gets
 * Retry-After: 1. */
void ed__http_send(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len);

/* Sends a JSON body built in @p b; a failed buffer becomes a 500. */
void ed__http_send_json(h2o_req_t *req, int status, const ed_buf_t *b);

/* 404 not_found JSON naming the path. @p scratch is reset and used. */
void ed__http_send_not_found(h2o_req_t *req, ed_buf_t *scratch);

/* 405 with Allow: GET and a JSON error. @p scratch is reset and used. */
void ed__http_send_not_allowed(h2o_req_t *req, ed_buf_t *scratch);

#endif
