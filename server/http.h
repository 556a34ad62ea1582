/* The HTTP server: libh2o (evloop) answering the v1 API through the query
 * module, on its own thread(s), never on a stream thread. HTTP/1.1 with
 * keep-alive, HTTP/2 over cleartext with prior knowledge (h2c), and HTTP/2
 * or HTTP/1.1 over TLS (ALPN) when a certificate is configured. Also
 * GET /healthz, /readyz, /metrics and /v1/cluster, and min_offset waits on
 * /v1/views. */
#ifndef ED_SERVER_HTTP_H
#define ED_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "streams/engine.h"

typedef struct ed_http ed_http_t;
struct ed_members; /* server/members.h */

typedef struct {
  const char *listen;         /* "host:port"; port 0 picks a free one */
  ed_engine_t *engine;        /* borrowed: must outlive the server */
  const char *tls_cert;       /* PEM certificate (chain) file; NULL: no TLS */
  const char *tls_key;        /* PEM private key file; with tls_cert */
  int64_t ready_max_lag;      /* /readyz: records a partition may be behind; <0: 1000 */
  int threads;                /* event loops (threads); 0: 1 */
  const char *instance_id;    /* GET /v1/cluster; copied; NULL: "localhost:<port>" */
  const char *advertised_url; /* GET /v1/cluster; copied; NULL: "http://localhost:<port>" */
  struct ed_members *members; /* GET /v1/cluster: the other instances; borrowed (must
                               * outlive the server); NULL: this instance only */
} ed_http_conf_t;

/* Binds the listening socket, starts the server thread(s) and registers a
 * commit listener on the engine (so the engine must not be started yet).
 * On failure nothing is left to free and @p err says why. */
int ed_http_start(const ed_http_conf_t *conf, ed_http_t **out, char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
int ed_http_port(const ed_http_t *h);

/* Stops the threads, answers parked requests 503, closes connections and
 * frees. Stop the engine first: its commit listener refers to the server.
 * NULL is a no-op. */
void ed_http_stop(ed_http_t *h);

#endif
