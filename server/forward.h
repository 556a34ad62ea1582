/* Forwarding: one HTTP/1.1 request from this instance to another one, on
 * the worker's event loop (h2o's http1client), over a keep-alive connection
 * pool per peer and worker. Never blocks the loop: the answer arrives in a
 * callback. Used by the routing (route*.c); counts every request and
 * failure per peer for /metrics. */
#ifndef ED_SERVER_FORWARD_H
#define ED_SERVER_FORWARD_H

#include "server/http_int.h"

#include <h2o/http1client.h>

/* Peers a worker keeps pools for; more distinct URLs than this are
 * refused (ED_ETOOBIG) rather than grown without bound. */
#define ED_FWD_MAX_PEERS 64
#define ED_FWD_IO_TIMEOUT_MS 5000 /* connect, send, each read */

/* Per-peer counters, shared by the workers (ed_http_t.fwd_stats). */
typedef struct {
  char instance_id[128];
  _Atomic uint64_t requests; /* forwarded requests sent */
  _Atomic uint64_t failures; /* of those: no answer (connect, I/O, timeout) */
} ed__fwd_peer_stats_t;

struct ed__fwd_stats {
  pthread_mutex_t mu; /* guards adding a peer */
  _Atomic size_t n;
  ed__fwd_peer_stats_t peers[ED_FWD_MAX_PEERS];
};

/* The worker's forwarding state. */
typedef struct ed__fwd_ctx ed__fwd_ctx_t;

/* Creates it on @p w's loop (after h2o_context_init). NULL: out of memory. */
ed__fwd_ctx_t *ed__fwd_ctx_create(ed__http_worker_t *w);
/* Closes the pools. In-flight requests must be cancelled first. NULL: no-op. */
void ed__fwd_ctx_destroy(ed__fwd_ctx_t *c);

typedef struct ed__fwd ed__fwd_t;
typedef void (*ed__fwd_cb)(ed__fwd_t *f);

/* One request and its answer. Caller-embedded (e.g. in a request pool,
 * with a dispose that calls ed__fwd_cancel). */
struct ed__fwd {
  /* the answer, when cb runs */
  int status;         /* 0: no answer; errstr says why */
  const char *errstr; /* static */
  ed_buf_t body;
  char ctype[64];
  char served_by[128];  /* eddy-served-by */
  char retry_after[16]; /* Retry-After */
  char stale[8], lag_records[24], lag_ms[24]; /* eddy-stale, eddy-standby-lag-* */
  void *data;                                 /* the caller's */
  /* internal */
  ed__fwd_ctx_t *ctx;
  void *peer;
  ed__fwd_cb cb;
  h2o_http1client_ctx_t *cctx;
  h2o_http1client_t *client;
  ed_buf_t head;
  h2o_iovec_t bufs[2];
  size_t nbufs;
  int retried, active;
};

/* Initializes @p f (before start, and before any cancel). */
void ed__fwd_init(ed__fwd_t *f);
/* Cancels a request in flight (cb does not run) and frees its buffers. */
void ed__fwd_fini(ed__fwd_t *f);

/* Sends @p method @p target (path and query, already encoded) to the peer
 * at @p url (its advertised URL; named @p peer_id in the metrics), with
 * Accept @p accept (NULL: none), eddy-forwarded: @p origin, and @p body
 * (NULL: none; sent as application/x-protobuf; borrowed until cb). With
 * @p long_wait the reads may take up to ED_HTTP_WAIT_MAX_MS more (a
 * min_offset wait on the peer). A request that fails before any answer
 * (a pooled connection the peer closed) is tried once more on a new one.
 * Returns ED_OK (cb will run unless cancelled), or ED_EINVAL (a URL that is
 * not http://host:port) / ED_ETOOBIG (too many peers) / ED_ENOMEM. */
int ed__fwd_start(ed__fwd_ctx_t *c, ed__fwd_t *f, const char *url, const char *peer_id,
                  const char *method, h2o_iovec_t target, const h2o_iovec_t *accept,
                  const char *origin, h2o_iovec_t body, int long_wait, ed__fwd_cb cb);

#endif
