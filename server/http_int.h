/* Internals of the HTTP server shared by http.c, wait.c and the
 * handler_*.c files.
 *
 * The server runs http.threads workers. Each worker is one h2o event loop
 * on its own thread with its own h2o configuration (so handlers, and their
 * scratch buffers, are never shared between threads), accepting from the
 * same listening socket. What the workers share is in ed_http_t: the engine,
 * the settings and the metrics (atomics). Everything else here runs on its
 * worker's thread only. */
#ifndef ED_SERVER_HTTP_INT_H
#define ED_SERVER_HTTP_INT_H

/* libh2o-evloop: h2o's headers default to libuv unless told otherwise, and
 * its pkg-config file does not say so. */
#ifndef H2O_USE_LIBUV
#define H2O_USE_LIBUV 0
#endif
#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/histogram.h"
#include "query/query.h"
#include "server/http.h"
#include "streams/engine.h"

/* ---- limits ---- */

#define ED_HTTP_MAX_PATH 8192 /* bytes of the request target (path + query): 414 above */
#define ED_HTTP_MAX_KEY 511   /* decoded bytes of a key segment: 413 above */
#define ED_HTTP_WAIT_DEFAULT_MS 5000
#define ED_HTTP_WAIT_MAX_MS 60000 /* timeout_ms above is a 400 */
#define ED_HTTP_WAIT_MAX_POS 64   /* distinct partitions in min_offset */
#define ED_HTTP_MAX_THREADS 64

/* ---- metrics (handler_metrics.c) ---- */

/* What a request was, for eddy_queries_total and eddy_query_duration_seconds. */
typedef enum {
  ED_EP_VIEWS,    /* GET /v1/views */
  ED_EP_KEY,      /* GET /v1/views/{view}/keys/{key} */
  ED_EP_ROWS,     /* GET /v1/views/{view}/rows */
  ED_EP_MULTIGET, /* POST /v1/views/{view}/keys */
  ED_EP_HEALTHZ,
  ED_EP_READYZ,
  ED_EP_METRICS,
  ED_EP_CLUSTER, /* GET /v1/cluster */
  ED_EP_OTHER,
  ED_EP_COUNT
} ed__http_endpoint_t;

/* Statuses counted one by one; any other is counted as "other". Status 0
 * (the client went away before an answer) is written as "canceled". */
#define ED__HTTP_NSTATUS 17

typedef struct {
  _Atomic uint64_t queries[ED_EP_COUNT][ED__HTTP_NSTATUS + 1]; /* the last: other */
  ed_histogram_t duration[ED_EP_COUNT];
  _Atomic int64_t conns_open; /* accepted sockets not yet closed, all workers */
} ed__http_metrics_t;

/* The endpoint of a request with method @p m and path @p p (without the
 * query string). */
ed__http_endpoint_t ed__http_classify(const char *m, size_t mlen, const char *p, size_t plen);

/* Counts one answered request. Any thread. */
void ed__http_metrics_observe(ed__http_metrics_t *mx, ed__http_endpoint_t ep, int status,
                              int64_t ns);

/* Appends the HTTP layer's series (queries, durations, connections) in the
 * Prometheus text format 0.0.4. */
void ed__http_metrics_write_http(const ed__http_metrics_t *mx, ed_buf_t *out);

/* Appends the engine's series (records, bad records by reason, late
 * records, commits, commit latency, lag, assigned partitions). */
void ed__http_metrics_write_engine(ed_engine_t *e, ed_buf_t *out);

/* Appends @p s escaped as a Prometheus label value (\\, \" and \n). */
void ed__prom_escape(ed_buf_t *out, const char *s, size_t len);

/* ---- readiness (handler_health.c) ---- */

/* Fills @p out with the /readyz body and returns 200 (every partition
 * assigned here is within @p max_lag records of its input's end, and at
 * least one is assigned) or 503 (JSON naming the partitions behind). */
int ed__http_readiness(ed_engine_t *e, int64_t max_lag, ed_buf_t *out);

/* ---- min_offset waits (wait.c) ---- */

typedef struct {
  int32_t partition;
  int64_t offset;
} ed__wait_pos_t;

typedef struct {
  size_t n; /* distinct partitions, 0: no wait */
  ed__wait_pos_t pos[ED_HTTP_WAIT_MAX_POS];
  int64_t timeout_ms; /* ED_HTTP_WAIT_DEFAULT_MS unless timeout_ms= says */
} ed__wait_spec_t;

/* Reads min_offset=<partition>:<offset> (repeatable; the highest offset per
 * partition wins) and timeout_ms=<ms> from query string @p q (@p len bytes,
 * without the '?'); other parameters are skipped. Returns 0, or -1 with
 * @p err naming the parameter that is malformed. */
int ed__wait_parse(const char *q, size_t len, ed__wait_spec_t *out, char *err, size_t errlen);

/* ---- the server and its workers ---- */

typedef struct ed__http_worker ed__http_worker_t;

struct ed_http {
  ed_engine_t *engine; /* borrowed */
  int port;
  int64_t ready_max_lag;
  char instance_id[320];     /* this instance, for GET /v1/cluster */
  char advertised_url[2048]; /* its URL, for GET /v1/cluster */
  struct ed_members *members; /* borrowed; NULL: this instance only */
  int nworkers;
  ed__http_worker_t *workers;
  SSL_CTX *ssl_ctx; /* NULL: cleartext (HTTP/1.1 and h2c) */
  ed__http_metrics_t metrics;
  struct ed__fwd_stats *fwd_stats; /* forwarded requests per peer (forward.h) */
};

/* Parked requests of one worker (wait.c). */
typedef struct {
  h2o_linklist_t *by_view; /* one list anchor per view */
  size_t nviews;
  void *extra; /* the deadline list and timer (wait.c) */
} ed__wait_state_t;

struct ed__http_worker {
  ed_http_t *srv;
  int index;
  h2o_globalconf_t config;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept_ctx;
  h2o_evloop_t *loop;
  h2o_socket_t *listener;
  h2o_multithread_queue_t *queue;
  h2o_multithread_receiver_t stop_receiver;
  h2o_multithread_message_t stop_msg;
  h2o_multithread_receiver_t commit_receiver;
  h2o_multithread_message_t commit_msg;
  _Atomic uint64_t dirty;  /* views committed since the last wake-up (bit i: view i % 64) */
  _Atomic int64_t nparked; /* requests parked on this worker */
  ed__wait_state_t wait;
  int stopping;
  int leaked;
  _Atomic int64_t conns;           /* this worker's open sockets */
  h2o_buffer_prototype_t *h2_wbuf; /* h2o 2.2's thread-local HTTP/2 write buffers */
  pthread_t thread;
  int started;
  struct ed__route *route; /* routing of requests not served here (route.h) */
};

/* Sets up the worker's wait state. Returns ED_OK or ED_ENOMEM. */
int ed__wait_init(ed__http_worker_t *w);

/* Answers every parked request 503 (shutting down) and frees the state. */
void ed__wait_fini(ed__http_worker_t *w);

/* Registers the min_offset gate as the first handler of @p pc (the /v1
 * path, whose other handler answers the API): it checks the limits, parks
 * requests with min_offset until their partitions reach the offsets, then
 * passes them on. */
void ed__wait_register(h2o_pathconf_t *pc, ed__http_worker_t *w);

/* Re-checks the requests parked on views whose bits are in @p views. */
void ed__wait_recheck(ed__http_worker_t *w, uint64_t views);

/* The engine's commit listener (any thread): marks the view dirty on every
 * worker and wakes those with parked requests. @p arg is the ed_http_t. */
void ed__wait_on_commit(void *arg, ed_view_t *v, int32_t partition, int64_t offset);

/* ---- handlers ---- */

/* A handler with what every eddy handler needs. */
typedef struct {
  h2o_handler_t super;
  ed_engine_t *engine; /* borrowed */
  ed_buf_t scratch;    /* body buffer reused across requests (one worker only) */
  ed_http_t *srv;      /* borrowed; NULL for handlers that do not need it */
} ed__http_handler_t;

/* Creates a handler on @p pc (owned by h2o's config; freed by
 * h2o_config_dispose). */
ed__http_handler_t *ed__http_handler_create(h2o_pathconf_t *pc, ed_engine_t *engine,
                                            int (*on_req)(h2o_handler_t *, h2o_req_t *));

/* Registers GET /healthz and GET /readyz on @p host (handler_health.c). */
void ed__handler_health_register(h2o_hostconf_t *host, ed_http_t *srv);

/* Registers GET /metrics on @p host (handler_metrics.c). */
void ed__handler_metrics_register(h2o_hostconf_t *host, ed_http_t *srv);

/* Counts every request answered through @p pc in the query metrics (an
 * h2o logger: it runs when the request is done). */
void ed__http_metrics_attach(h2o_pathconf_t *pc, ed_http_t *srv);

/* Notes what the worker must free at exit for a done request (h2o 2.2's
 * per-thread caches); called by the metrics logger. */
void ed__http_note_request(h2o_req_t *req);

/* Registers GET /v1/cluster on @p host (handler_cluster.c). Before the /v1
 * API: h2o takes the first path that matches. */
void ed__handler_cluster_register(h2o_hostconf_t *host, ed_http_t *srv);

/* Registers the /v1 API on @p host for worker @p w (handler_views.c). */
void ed__handler_views_register(h2o_hostconf_t *host, ed__http_worker_t *w);

/* Appends the forwarding series (requests and failures per peer). */
void ed__http_metrics_write_forward(const ed_http_t *srv, ed_buf_t *out);

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

/* The encoding the request's Accept header asks for (JSON by default). */
ed_query_enc_t ed__http_encoding(const h2o_req_t *req);

/* Sends an error answer with @p status: {"error":{"code","message"}}, or
 * the protobuf Error when the request accepts application/x-protobuf.
 * @p scratch is reset and used. */
void ed__http_send_error(h2o_req_t *req, ed_buf_t *scratch, int status, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* 404 not_found JSON naming the path. @p scratch is reset and used. */
void ed__http_send_not_found(h2o_req_t *req, ed_buf_t *scratch);

/* 405 with Allow: GET and a JSON error. @p scratch is reset and used. */
void ed__http_send_not_allowed(h2o_req_t *req, ed_buf_t *scratch);

#endif
