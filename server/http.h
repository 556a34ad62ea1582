/* The HTTP server: libh2o (evloop) on its own thread, answering the v1 API
 * through the query module. HTTP/1.1 with keep-alive. */
#ifndef ED_SERVER_HTTP_H
#define ED_SERVER_HTTP_H

#include <stddef.h>

#include "streams/engine.h"

typedef struct ed_http ed_http_t;

typedef struct {
  const char *listen;  /* "host:port"; port 0 picks a free one */
  ed_engine_t *engine; /* borrowed: must outlive the server */
} ed_http_conf_t;

/* Binds the listening socket and starts the server thread. On failure
 * nothing is left to free and @p err says why. */
int ed_http_start(const ed_http_conf_t *conf, ed_http_t **out, char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
int ed_http_port(const ed_http_t *h);

/* Stops the thread, closes connections and frees. NULL is a no-op. */
void ed_http_stop(ed_http_t *h);

#endif
