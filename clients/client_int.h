/* libeddy internals: shared between the client's files and its unit tests
 * (which link the static library). Not installed. */
#ifndef EDDY_CLIENT_INT_H
#define EDDY_CLIENT_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "eddy.pb-c.h"
#include "eddy/client.h"

#define EDDY__HIDDEN __attribute__((visibility("hidden")))

struct eddy_row {
  Eddy__V1__Row *owned; /* freed by eddy_row_destroy; NULL for a borrowed row */
  const Eddy__V1__Row *msg;
  const Eddy__V1__Value *value; /* NULL: no value */
  int32_t partition;
  int64_t offset;
};

struct eddy_rows {
  Eddy__V1__MultiGetAnswer *msg;
  eddy_row_t *rows;
  size_t n;
};

struct eddy_windows {
  Eddy__V1__Row *msg;
  eddy_row_t *rows; /* one per window: its value */
  size_t n;
};

struct eddy_views {
  Eddy__V1__ViewList *msg;
};

/* Fills a borrowed row view of @p msg (with @p value, may be NULL). */
EDDY__HIDDEN void eddy__row_init(eddy_row_t *r, const Eddy__V1__Row *msg,
                                 const Eddy__V1__Value *value, int with_position);

/* Decoders of answer bodies. EDDY_OK, EDDY_ERR_PROTOCOL (undecodable) or
 * EDDY_ERR_NOMEM; *out: caller frees with the matching destroy. */
EDDY__HIDDEN int eddy__decode_row(const uint8_t *b, size_t n, eddy_row_t **out);
EDDY__HIDDEN int eddy__decode_windows(const uint8_t *b, size_t n, eddy_windows_t **out);
EDDY__HIDDEN int eddy__decode_rows(const uint8_t *b, size_t n, eddy_rows_t **out);
EDDY__HIDDEN int eddy__decode_views(const uint8_t *b, size_t n, eddy_views_t **out);

/* The eddy_err_t of an error answer (status >= 400), from its Error message
 * (@p is_pb: the body is protobuf) or else its status; the message, as
 * "HTTP <status> <code>: <message>", into @p msg. */
EDDY__HIDDEN int eddy__error_from_answer(long status, const uint8_t *body, size_t len, int is_pb,
                                         char *msg, size_t cap);

/* The error of an Error code string ("not_found", ...), or 0 if unknown. */
EDDY__HIDDEN int eddy__error_from_code(const char *code);

/* ---- client.c: the handle, errors, shared helpers, handle pools ---- */

#define EDDY__BACKOFF_FIRST_MS 50 /* the first retry's wait, doubled after each */
#define EDDY__BACKOFF_MAX_MS 1000

/* The client handle (client.c). */
struct eddy_client {
  char **seeds;
  size_t nseeds;
  int timeout_ms, retries;
  char *auth_header; /* "Authorization: Bearer ..." or NULL */
  char *ca_file;
  pthread_mutex_t mu; /* guards everything below */
  CURL **pool;        /* idle easy handles (each keeps its connections) */
  size_t npool, cappool;
  Eddy__V1__ClusterMap *map; /* NULL: none yet */
  int map_stale;
  int64_t map_ms; /* when the map was last fetched (or tried) */
  size_t rr;      /* round robin over the seeds */
  int direct;     /* route to the owners (options.direct_routing >= 0) */
  CURLM **mpool;  /* idle multi handles (parallel requests; each keeps its connections) */
  size_t nmpool, capmpool;
};

/* The outcome of one HTTP exchange. */
typedef struct {
  long status;
  CURLcode cc;
  int is_pb;
  uint8_t *body;
  size_t len, cap;
  int oom;
  char served_by[128];
  char cerr[CURL_ERROR_SIZE];
} eddy__ans_t;

/* One exchange of a parallel batch. */
typedef struct {
  char *url; /* owned */
  const void *post;
  size_t plen;
  eddy__ans_t a;
} eddy__xfer_t;

/* One call: what eddy__request() asks for. */
typedef struct {
  const char *view;
  const void *key; /* NULL: not a key lookup (any seed) */
  size_t klen;
  const char *pq; /* path and query string */
  const void *post;
  size_t plen;
  int64_t extra_ms; /* added to the call's timeout (min_offset waits) */
} eddy__req_t;

/* A view's routes from the map: per partition the index of its owner's
 * URL, or -1. */
typedef struct {
  int32_t np; /* the view's partitions; 0: not in the map */
  int *owner;
  char (*urls)[256];
  size_t nurls;
} eddy__route_t;

/* Sets the calling thread's last error on @p c to @p msg; returns @p err. */
EDDY__HIDDEN int eddy__fail(const eddy_client_t *c, int err, const char *msg);
/* eddy__fail() with a printf format. */
EDDY__HIDDEN __attribute__((format(printf, 3, 4))) int eddy__failf(const eddy_client_t *c, int err,
                                                                   const char *fmt, ...);
/* CLOCK_MONOTONIC in milliseconds. */
EDDY__HIDDEN int64_t eddy__now_ms(void);
/* Sleeps @p ms milliseconds (nothing if <= 0), resuming after signals. */
EDDY__HIDDEN void eddy__sleep_ms(int64_t ms);

/* A small growable string; after an allocation failure oom is set and
 * further appends do nothing. Starts zeroed; p: caller frees with free(). */
typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} eddy__sb_t;

EDDY__HIDDEN void eddy__sb_add(eddy__sb_t *s, const char *d, size_t n);
EDDY__HIDDEN void eddy__sb_str(eddy__sb_t *s, const char *str);
/* Appends a printf-formatted piece (at most 127 bytes). */
EDDY__HIDDEN __attribute__((format(printf, 2, 3))) void eddy__sb_addf(eddy__sb_t *s,
                                                                      const char *fmt, ...);
/* Percent-encodes @p n bytes (all but unreserved characters). */
EDDY__HIDDEN void eddy__sb_esc(eddy__sb_t *s, const void *d, size_t n);
/* A copy of @p s (caller frees with free()), or NULL. */
EDDY__HIDDEN char *eddy__strdup(const char *s);

/* Idle easy and multi handles: get one (a new one if none is idle; NULL
 * when out of memory), put it back (or clean it up if the pool cannot
 * grow). Thread-safe. */
EDDY__HIDDEN CURL *eddy__pool_get(eddy_client_t *c);
EDDY__HIDDEN void eddy__pool_put(eddy_client_t *c, CURL *h);
EDDY__HIDDEN CURLM *eddy__mpool_get(eddy_client_t *c);
EDDY__HIDDEN void eddy__mpool_put(eddy_client_t *c, CURLM *m);

/* ---- http.c: exchanges, one call's request, error mapping ---- */

/* One HTTP exchange: GET @p url, or POST of protobuf @p post (@p plen bytes).
 * The outcome in *a (a->cc: transport; a->status: HTTP). */
EDDY__HIDDEN void eddy__http_do(eddy_client_t *c, const char *url, const void *post, size_t plen,
                                int64_t timeout_ms, eddy__ans_t *a);
/* The @p n exchanges of @p x at once (curl multi), each within @p timeout_ms. */
EDDY__HIDDEN void eddy__http_many(eddy_client_t *c, eddy__xfer_t *x, size_t n, int64_t timeout_ms);
/* The error of a failed exchange of a batch: transport, 503 (both
 * retryable: *retry = 1) or another error answer. Message into @p msg. */
EDDY__HIDDEN int eddy__xfer_error(const eddy__xfer_t *x, int *retry, char *msg, size_t cap);
/* Frees @p x (n exchanges), their URLs, answers and POST bodies. */
EDDY__HIDDEN void eddy__xfers_free(eddy__xfer_t *x, size_t n);
/* One call: routed to the key's owner (or a seed), retried, its failure
 * mapped (eddy_last_error set). EDDY_OK: a protobuf answer in *a (a->body:
 * caller frees with free(), also on failure). */
EDDY__HIDDEN int eddy__request(eddy_client_t *c, const eddy__req_t *r, eddy__ans_t *a);
/* GET @p pq (path and query) from a seed, with the client's
 * retries and error mapping (eddy_last_error set on failure). EDDY_OK:
 * *body (@p len bytes; caller frees with free()) is the protobuf answer. */
EDDY__HIDDEN int eddy__get_pb(eddy_client_t *c, const char *pq, uint8_t **body, size_t *len);

/* ---- routing.c: the cached cluster map and direct routing ---- */

/* Marks the map stale (refetched by the next eddy__map_refresh()). */
EDDY__HIDDEN void eddy__map_mark_stale(eddy_client_t *c);
/* Fetches /v1/cluster from the seeds (in turn) if the map is missing or
 * stale, at most every 100 ms, before @p deadline. Failures keep the old map. */
EDDY__HIDDEN void eddy__map_refresh(eddy_client_t *c, int64_t deadline);
/* The owner of @p key's partition of @p view in the map: its advertised URL
 * into @p url and its id into @p id. Returns 1, or 0 if the map names none. */
EDDY__HIDDEN int eddy__map_owner(eddy_client_t *c, const char *view, const void *key, size_t klen,
                                 char *url, size_t ucap, char *id, size_t icap);
/* Fills *rt for @p view from the cached map. EDDY_OK or EDDY_ERR_NOMEM. */
EDDY__HIDDEN int eddy__map_route(eddy_client_t *c, const char *view, eddy__route_t *rt);
/* Frees what *rt holds and zeroes it. */
EDDY__HIDDEN void eddy__route_fini(eddy__route_t *rt);
/* A seed URL, round robin, avoiding @p avoid (n strings) where it can.
 * Borrowed: valid while @p c lives. */
EDDY__HIDDEN const char *eddy__pick_seed(eddy_client_t *c, char (*avoid)[256], size_t n);

/* ---- calls.c, scan_merge.c ---- */

/* EDDY_ERR_INVALID (last error set) unless @p c, @p view, @p key and @p out
 * are given; else EDDY_OK. */
EDDY__HIDDEN int eddy__check_args(eddy_client_t *c, const char *view, const void *key, void *out);

enum { EDDY__SCAN_FALLBACK = 1 };

/* Merges the owners' pages @p parts: rows in store-key order, none beyond
 * the smallest last key of a page that has more, at most @p limit (0: no
 * limit) when some page has more. EDDY_OK: *rows_out (nrows_out rows,
 * borrowed from @p parts; caller frees the array with free()) and
 * *cursor_out (NULL: the last page; caller frees with free()).
 * EDDY__SCAN_FALLBACK: a page this client does not understand; or
 * EDDY_ERR_NOMEM. */
EDDY__HIDDEN int eddy__scan_merge(Eddy__V1__RowList *const *parts, size_t n, int limit,
                                  const Eddy__V1__Row ***rows_out, size_t *nrows_out,
                                  char **cursor_out);

/* cluster.c: decodes a ClusterMap. EDDY_OK, EDDY_ERR_PROTOCOL or
 * EDDY_ERR_NOMEM; *out: caller frees with eddy_cluster_destroy. */
EDDY__HIDDEN int eddy__decode_cluster(const uint8_t *b, size_t n, eddy_cluster_t **out);

#endif
