/* libeddy: the C client of eddy's query API.
 *
 * One client handle holds the seed URLs, the options, a pool of HTTP
 * connections (libcurl; HTTP/2 over TLS where the server offers it) and a
 * cached partition map (GET /v1/cluster). Every call speaks protobuf
 * (proto/eddy.proto) over HTTP.
 *
 * Routing: a key lookup (eddy_get, eddy_windows) computes the key's
 * partition exactly as the server and the Java client do (murmur2 of the key
 * bytes, sign bit masked, modulo the view's partition count) and goes
 * straight to the owner's advertised URL. A 503, a connection failure or an
 * answer served by another instance refreshes the map; 503 and connection
 * failures are retried with backoff (50 ms doubling, at most 1 s) up to
 * `retries` times within `timeout_ms`. Without an owner in the map the
 * request goes to a seed URL, which forwards it. A multi-get is split by
 * owner and the parts sent in parallel; a scan page is one request per owner
 * (restricted to its partitions), in parallel, merged here in key order.
 * eddy_views goes to a seed. direct_routing = -1 sends everything to the
 * seeds (which forward).
 *
 * Threads: a client may be used from several threads at once. Results
 * (rows, lists, scans) belong to the caller and to one thread at a time.
 *
 * Errors: calls return EDDY_OK (0) or a negative eddy_err_t;
 * eddy_last_error() gives the message of the calling thread's last failed
 * call on that client.
 *
 * Ownership: every object returned through an OUT parameter or a return
 * value is the caller's and is freed with its *_destroy / *_close. Pointers
 * returned by accessors (strings, keys, borrowed rows) are borrowed: valid
 * until the object they came from is destroyed (for eddy_scan_next: until
 * the next eddy_scan_next or eddy_scan_close). Every *_destroy(NULL) is a
 * no-op. */
#ifndef EDDY_CLIENT_H
#define EDDY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EDDY_API __attribute__((visibility("default")))
#else
#define EDDY_API
#endif

/* X(name, value, message) */
#define EDDY_ERRNO_MAP(X)                                                      \
  X(OK, 0, "success")                                                          \
  X(NOT_FOUND, -1, "not found")                                                \
  X(UNAVAILABLE, -2, "unavailable")                                            \
  X(BAD_REQUEST, -3, "bad request")                                            \
  X(TIMEOUT, -4, "timed out")                                                  \
  X(TRANSPORT, -5, "transport error")                                          \
  X(PROTOCOL, -6, "protocol error (an answer that cannot be decoded)")         \
  X(SERVER, -7, "server error")                                                \
  X(INVALID, -8, "invalid argument")                                           \
  X(NOMEM, -9, "out of memory")

typedef enum {
#define EDDY__ERR_ENUM(name, value, msg) EDDY_ERR_##name = value,
  EDDY_ERRNO_MAP(EDDY__ERR_ENUM)
#undef EDDY__ERR_ENUM
} eddy_err_t;

#define EDDY_OK EDDY_ERR_OK

/* A static description of @p err ("unknown error" for other values). */
EDDY_API const char *eddy_err_str(int err);

typedef struct eddy_client eddy_client_t;
typedef struct eddy_row eddy_row_t;
typedef struct eddy_rows eddy_rows_t;
typedef struct eddy_windows eddy_windows_t;
typedef struct eddy_views eddy_views_t;
typedef struct eddy_scan eddy_scan_t;

/* ---- client ---- */

typedef struct {
  int timeout_ms;          /* total per call, retries included; 0: 10000 */
  int retries;             /* extra attempts on 503 / connection failure; <0: 0, 0: default 5 */
  const char *api_token;   /* sent as Authorization: Bearer <token>; NULL: none (copied) */
  const char *tls_ca_file; /* CA bundle for https:// URLs; NULL: the system's (copied) */
  int direct_routing;      /* 0 or 1: send lookups, multi-gets and scans to the owners (default); -1: only to the seeds */
} eddy_options_t;

/* Opens a client on @p n seed URLs (e.g. "http://localhost:8080"; copied).
 * @p opts may be NULL (defaults). No request is made yet. Returns the client
 * (caller frees with eddy_client_destroy), or NULL with a message in
 * @p errstr (@p errlen bytes, may be 0). */
EDDY_API eddy_client_t *eddy_client_new(const char *const *seed_urls, size_t n,
                                        const eddy_options_t *opts, char *errstr, size_t errlen);

/* Frees the client, its connections and its map. No call on it may be
 * running. NULL: no-op. */
EDDY_API void eddy_client_destroy(eddy_client_t *c);

/* The message of the last failed call made by the calling thread on @p c
 * ("" if none). Borrowed: valid until the thread's next call on any client. */
EDDY_API const char *eddy_last_error(const eddy_client_t *c);

/* The partition of a key among @p partitions (> 0), as the server and the
 * Java client compute it: (murmur2(key) & 0x7fffffff) % partitions. */
EDDY_API int32_t eddy_partition_for_key(const void *key, size_t len, int32_t partitions);

/* ---- views ---- */

/* Lists the views. *out: caller frees with eddy_views_destroy. */
EDDY_API int eddy_views(eddy_client_t *c, eddy_views_t **out);
EDDY_API size_t eddy_views_count(const eddy_views_t *v);
/* Borrowed strings, valid until eddy_views_destroy; NULL if i is out of range. */
EDDY_API const char *eddy_views_name(const eddy_views_t *v, size_t i);
EDDY_API const char *eddy_views_kind(const eddy_views_t *v, size_t i); /* table|latest|windowed|session */
EDDY_API const char *eddy_views_from(const eddy_views_t *v, size_t i); /* source topic */
EDDY_API int32_t eddy_views_partitions(const eddy_views_t *v, size_t i);
EDDY_API void eddy_views_destroy(eddy_views_t *v);

/* ---- key lookups ---- */

typedef struct {
  int32_t partition;
  int64_t offset;
} eddy_position_t;

typedef struct {
  /* Read your writes: answer only once each named partition's state reflects
   * the offset (the *next* input offset, as in eddy_row_offset). Borrowed
   * for the call. */
  const eddy_position_t *min_offsets;
  size_t n_min_offsets;
  int timeout_ms;  /* how long the server may wait for min_offsets; 0: its default (5000) */
  int allow_stale; /* 1: a standby copy may answer */
} eddy_get_opts_t;

typedef enum {
  EDDY_TYPE_NULL = 0,
  EDDY_TYPE_INT = 1,
  EDDY_TYPE_DOUBLE = 2,
  EDDY_TYPE_STRING = 3,
  EDDY_TYPE_JSON = 4, /* a JSON text (a latest view's record) */
} eddy_type_t;

/* Looks up @p key (@p klen bytes) in @p view. @p opts may be NULL.
 * EDDY_OK: *out is the row (caller frees with eddy_row_destroy);
 * EDDY_ERR_NOT_FOUND: no such key (or view), *out is NULL. */
EDDY_API int eddy_get(eddy_client_t *c, const char *view, const void *key, size_t klen,
                      const eddy_get_opts_t *opts, eddy_row_t **out);

/* 0 for a multi-get row whose key has no row; else 1. */
EDDY_API int eddy_row_found(const eddy_row_t *r);
/* The key; borrowed. */
EDDY_API const void *eddy_row_key(const eddy_row_t *r, size_t *len);
/* The position the answer reflects (key lookups; multi-get rows: partition
 * only, offset -1; scan rows: -1). */
EDDY_API int32_t eddy_row_partition(const eddy_row_t *r);
EDDY_API int64_t eddy_row_offset(const eddy_row_t *r);
/* The value's columns, in the view's order. A latest view's record is one
 * column with an empty name. */
EDDY_API size_t eddy_row_ncolumns(const eddy_row_t *r);
/* Borrowed; NULL if @p i is out of range. */
EDDY_API const char *eddy_row_column_name(const eddy_row_t *r, size_t i);
/* Index of the column named @p name, or -1. */
EDDY_API int eddy_row_column_index(const eddy_row_t *r, const char *name);
EDDY_API eddy_type_t eddy_row_column_type(const eddy_row_t *r, size_t i);
/* Typed values: EDDY_OK, or EDDY_ERR_INVALID if @p i is out of range or
 * the column is of another type (eddy_row_double also converts an INT). */
EDDY_API int eddy_row_int(const eddy_row_t *r, size_t i, int64_t *out);
EDDY_API int eddy_row_double(const eddy_row_t *r, size_t i, double *out);
/* STRING or JSON column: the text, NUL-terminated, borrowed; else NULL. */
EDDY_API const char *eddy_row_string(const eddy_row_t *r, size_t i);
/* Frees a row returned by eddy_get. Never pass a borrowed row. NULL: no-op. */
EDDY_API void eddy_row_destroy(eddy_row_t *r);

/* ---- windows of a key (windowed and session views) ---- */

#define EDDY_NO_BOUND INT64_MIN

/* The windows of @p key whose start is in [@p from, @p to] (epoch ms, both
 * inclusive; EDDY_NO_BOUND: unbounded), in start order. *out: caller frees with eddy_windows_destroy.
 * EDDY_ERR_NOT_FOUND: the key has no window in range. */
EDDY_API int eddy_windows(eddy_client_t *c, const char *view, const void *key, size_t klen,
                          int64_t from, int64_t to, eddy_windows_t **out);
EDDY_API size_t eddy_windows_count(const eddy_windows_t *w);
EDDY_API int64_t eddy_windows_start(const eddy_windows_t *w, size_t i); /* inclusive */
EDDY_API int64_t eddy_windows_end(const eddy_windows_t *w, size_t i);   /* exclusive */
/* Window @p i's value as a row (key, partition and offset of the lookup).
 * Borrowed: valid until eddy_windows_destroy. NULL if out of range. */
EDDY_API const eddy_row_t *eddy_windows_value(const eddy_windows_t *w, size_t i);
EDDY_API int32_t eddy_windows_partition(const eddy_windows_t *w);
EDDY_API int64_t eddy_windows_offset(const eddy_windows_t *w);
EDDY_API void eddy_windows_destroy(eddy_windows_t *w);

/* ---- multi-get ---- */

/* Looks up @p n keys (keys[i], klens[i] bytes) at once. *out holds one row
 * per key, in order; a key without a row gives a row with
 * eddy_row_found() == 0. Caller frees with eddy_rows_destroy. */
EDDY_API int eddy_multi_get(eddy_client_t *c, const char *view, const void *const *keys,
                            const size_t *klens, size_t n, eddy_rows_t **out);
EDDY_API size_t eddy_rows_count(const eddy_rows_t *rs);
/* Borrowed: valid until eddy_rows_destroy. NULL if out of range. */
EDDY_API const eddy_row_t *eddy_rows_at(const eddy_rows_t *rs, size_t i);
EDDY_API void eddy_rows_destroy(eddy_rows_t *rs);

/* ---- range scan ---- */

/* A scan of @p view's rows with keys in [@p from, @p to) in byte order
 * (NUL-terminated; NULL: unbounded), @p page_limit rows per request (0: the
 * server's default). No request is made yet. Returns the iterator (caller
 * closes it with eddy_scan_close) or NULL (eddy_last_error). */
EDDY_API eddy_scan_t *eddy_scan_open(eddy_client_t *c, const char *view, const char *from,
                                     const char *to, int page_limit);
/* The next row, fetching the next page (following the cursor) when needed.
 * Returns 1 with *row set (borrowed: valid until the next eddy_scan_next or
 * eddy_scan_close), 0 at the end, or a negative eddy_err_t (the scan may be
 * retried by calling again). */
EDDY_API int eddy_scan_next(eddy_scan_t *it, const eddy_row_t **row);
/* NULL: no-op. */
EDDY_API void eddy_scan_close(eddy_scan_t *it);

/* ==== cluster map (eddy_cluster) ==========================================
 * The cluster's map as GET /v1/cluster gives it: the instances (each with
 * the partitions it holds per view: state, progress, lag) and, per view,
 * each partition's owner and standbys. Strings are borrowed: valid until
 * eddy_cluster_destroy. Out-of-range indexes give NULL / 0 / EDDY_ERR_INVALID. */

typedef struct eddy_cluster eddy_cluster_t;

/* Fetches the map from a seed. *out: caller frees with eddy_cluster_destroy. */
EDDY_API int eddy_cluster(eddy_client_t *c, eddy_cluster_t **out);
EDDY_API void eddy_cluster_destroy(eddy_cluster_t *m); /* NULL: no-op */

/* -- instances -- */
EDDY_API size_t eddy_cluster_instance_count(const eddy_cluster_t *m);
EDDY_API const char *eddy_cluster_instance_id(const eddy_cluster_t *m, size_t i);
EDDY_API const char *eddy_cluster_instance_url(const eddy_cluster_t *m, size_t i); /* advertised */
/* 1: the instance that answered. */
EDDY_API int eddy_cluster_instance_self(const eddy_cluster_t *m, size_t i);
/* The views instance @p i holds partitions of. */
EDDY_API size_t eddy_cluster_instance_view_count(const eddy_cluster_t *m, size_t i);
EDDY_API const char *eddy_cluster_instance_view(const eddy_cluster_t *m, size_t i, size_t v);
EDDY_API size_t eddy_cluster_instance_partition_count(const eddy_cluster_t *m, size_t i, size_t v);

/* One partition an instance holds. -1 in a number: not known (yet). */
typedef struct {
  int32_t partition;
  const char *state;     /* "running", "restoring" or "standby" (borrowed) */
  int64_t offset;        /* next input offset the state reflects */
  int64_t lag;           /* high watermark - offset */
  int64_t restored;      /* restoring: changelog records applied; standby: records behind */
  int64_t restore_total; /* restoring: records to apply */
  int64_t lag_ms;        /* standby: ms since it was last caught up */
} eddy_cluster_partition_t;

/* Partition @p p of view @p v of instance @p i into *out: EDDY_OK or
 * EDDY_ERR_INVALID. */
EDDY_API int eddy_cluster_instance_partition(const eddy_cluster_t *m, size_t i, size_t v, size_t p,
                                             eddy_cluster_partition_t *out);

/* -- views and their owners -- */
EDDY_API size_t eddy_cluster_view_count(const eddy_cluster_t *m);
EDDY_API const char *eddy_cluster_view_name(const eddy_cluster_t *m, size_t v);
EDDY_API int32_t eddy_cluster_view_partitions(const eddy_cluster_t *m, size_t v);
/* Number of owner entries of view @p v (one per partition, in order). */
EDDY_API size_t eddy_cluster_view_owner_count(const eddy_cluster_t *m, size_t v);

typedef struct {
  int32_t partition;
  const char *owner;             /* instance id; NULL: unassigned */
  const char *state;             /* the owner's state, or "unassigned" */
  size_t n_standbys;
  const char *const *standbys;   /* instance ids holding a standby copy */
} eddy_cluster_owner_t;

/* Owner entry @p o of view @p v into *out: EDDY_OK or EDDY_ERR_INVALID. */
EDDY_API int eddy_cluster_view_owner(const eddy_cluster_t *m, size_t v, size_t o,
                                     eddy_cluster_owner_t *out);
/* ==== end of cluster map ================================================= */

#ifdef __cplusplus
}
#endif

#endif
