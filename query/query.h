/* Query execution, independent of HTTP: the server, embedding programs and
 * tests call these with parsed arguments.
 *
 * One result model, two encoders. An ed_query_exec_*() call executes a
 * lookup, range scan or multi-get into an ed_query_result_t (rows of typed
 * columns, windows, the positions the answer reflects, or an error with its
 * HTTP status); ed_query_encode() then writes it as JSON or as the
 * protobuf messages of proto/eddy.proto. Both encodings carry the same
 * information. Each execution reads one LMDB snapshot per partition and ends
 * it before returning: the result borrows nothing from the store.
 *
 * Every ed_query_exec_* call returns the HTTP status of its answer (200,
 * 400, 404, 503, ...), also kept in the result. Error answers have the shape
 * {"error":{"code":"not_found|bad_request|unavailable|...","message":"..."}}
 * (protobuf: Error). A 503 means the caller should send Retry-After. */
#ifndef ED_QUERY_QUERY_H
#define ED_QUERY_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "streams/engine.h"

/* ---- limits ---- */

#define ED_QUERY_MAX_KEY 511         /* bytes of one key (LMDB's limit) */
#define ED_QUERY_DEFAULT_LIMIT 100   /* rows per scan page */
#define ED_QUERY_MAX_LIMIT 10000     /* rows per scan page, at most */
#define ED_QUERY_MAX_KEYS 10000      /* keys of one multi-get */
#define ED_QUERY_MAX_BODY (4u << 20) /* bytes of a multi-get request body */

/* ---- encodings ---- */

typedef enum { ED_QUERY_JSON = 0, ED_QUERY_PROTOBUF = 1 } ed_query_enc_t;

/* "application/json" or "application/x-protobuf". Static. */
const char *ed_query_content_type(ed_query_enc_t enc);

/* The encoding an Accept header asks for (@p accept may be NULL: none):
 * protobuf when application/x-protobuf is listed (with a q above 0),
 * otherwise JSON (also for any other type, or "*" "/" "*"). */
ed_query_enc_t ed_query_accept(const char *accept, size_t len);

/* ---- results ---- */

typedef struct ed_query_result ed_query_result_t;

/* A result, on the heap. Reusable: each exec starts by resetting it.
 * Returns NULL when out of memory. Caller frees with
 * ed_query_result_destroy(). */
ed_query_result_t *ed_query_result_create(void);
void ed_query_result_destroy(ed_query_result_t *res); /* NULL: no-op */

/* The HTTP status of the last answer put into @p res (0: none yet). */
int ed_query_result_status(const ed_query_result_t *res);

/* Appends @p res encoded as @p enc to @p out. Returns ED_OK or ED_ENOMEM
 * (then @p out is marked failed or holds an incomplete body). */
int ed_query_encode(const ed_query_result_t *res, ed_query_enc_t enc, ed_buf_t *out);

/* Makes @p res an error answer with @p status and @p code ("bad_request",
 * ...) and a printf-style message; returns @p status. */
int ed_query_fail(ed_query_result_t *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- executions ---- */

/* GET /v1/views: the view definitions this instance serves. The result
 * refers to @p e's views (borrowed: @p e must outlive the encode). */
int ed_query_exec_views(ed_engine_t *e, ed_query_result_t *res);

/* Options of a key lookup. Zero-initialized: none. */
typedef struct {
  int has_from, has_to; /* 1: the bound below is set */
  int64_t from, to;     /* windowed views: bounds on the window start, epoch ms,
                           both inclusive */
  int allow_stale;      /* 1: a partition not served here may be read from the
                           standby copy kept here (ed_view_standby_store) */
} ed_query_key_opts_t;

/* GET /v1/views/{view}/keys/{key}; @p key is the decoded key bytes; @p opts
 * (borrowed for the call) may be NULL for none. A table or latest view
 * answers {"key","value","partition","offset"[,"stream_time"]}; a windowed
 * or session view {"key","windows":[{"start","end","value"},..],
 * "partition","offset"[,"stream_time"]} (404 when no window is in range).
 * stream_time is there once the partition has seen a record. from/to on a
 * view that is not windowed, or from > to, is a 400. */
int ed_query_exec_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                      size_t key_len, const ed_query_key_opts_t *opts, ed_query_result_t *res);

/* A range scan's parameters. Zero-initialized: the first page of the whole
 * table with the default limit. Everything is borrowed for the call. */
typedef struct {
  const char *from; /* NULL: from the first key; else record keys >= from */
  size_t from_len;
  const char *to; /* NULL: to the end; else record keys < to */
  size_t to_len;
  int has_window_from, has_window_to; /* windowed views: bounds on the */
  int64_t window_from, window_to;     /* window start, both inclusive */
  size_t limit;                       /* rows per page: 0 = ED_QUERY_DEFAULT_LIMIT */
  const char *cursor;                 /* NULL: first page; else a next_cursor */
  size_t cursor_len;
  const int32_t *partitions; /* NULL: every partition; else only these (a routed
                                part of a scan), ascending, no duplicates */
  size_t npartitions;
} ed_query_scan_t;

/* GET /v1/views/{view}/rows: one page of rows in key byte order, merged
 * across all partitions of the view (each read in one snapshot):
 * {"rows":[{"key","value"},..],"next_cursor":"..","positions":[{"partition",
 * "offset"[,"stream_time"]},..]}. Windowed and session views yield one row
 * per (key, window): {"key","start","end","value"}, by key then window start.
 * next_cursor (absent when the scan is complete) resumes exactly after the
 * page's last row, also when the table changed meanwhile. A partition not
 * assigned here is a 503 naming it; a bad limit or cursor a 400. */
int ed_query_exec_rows(ed_engine_t *e, const char *view, size_t view_len,
                       const ed_query_scan_t *scan, ed_query_result_t *res);

/* The keys of a multi-get. Caller-embedded: init / reset / fini. */
typedef struct {
  ed_buf_t bytes; /* the keys' bytes, back to back (internal) */
  size_t *off;    /* key i is bytes.data + off[i], len[i] bytes (internal) */
  size_t *len;
  size_t n, cap;
} ed_query_keys_t;

void ed_query_keys_init(ed_query_keys_t *k);
void ed_query_keys_reset(ed_query_keys_t *k);
void ed_query_keys_fini(ed_query_keys_t *k);
/* Appends a key (copied). Returns ED_OK or ED_ENOMEM. */
int ed_query_keys_add(ed_query_keys_t *k, const void *key, size_t len);
/* Key @p i, borrowed until the next change of @p k. */
static inline const char *ed_query_keys_at(const ed_query_keys_t *k, size_t i, size_t *len) {
  *len = k->len[i];
  return k->bytes.data + k->off[i];
}

/* Parses a multi-get request body: a JSON array of strings, or (@p enc
 * protobuf) a MultiGetRequest, into @p keys (reset first). Returns 0, or an
 * error status with the error in @p res: 413 for a body over
 * ED_QUERY_MAX_BODY or more than ED_QUERY_MAX_KEYS keys, 400 for malformed
 * JSON or protobuf, or an element that is not a string (naming its index). */
int ed_query_parse_keys(const char *body, size_t len, ed_query_enc_t enc, ed_query_keys_t *keys,
                        ed_query_result_t *res);

/* POST /v1/views/{view}/keys: every key of @p keys in one answer, in
 * request order: {"rows":[{"key","value","partition"} | {"key","windows",
 * "partition"} | {"key","missing":true,"partition"},..],"positions":[..]},
 * one position per partition read (one snapshot each). @p opts bounds the
 * windows of a windowed view as in a key lookup. Each key must be 1..511
 * bytes (400 naming its index). */
int ed_query_exec_keys(ed_engine_t *e, const char *view, size_t view_len,
                       const ed_query_keys_t *keys, const ed_query_key_opts_t *opts,
                       ed_query_result_t *res);

/* ---- routed answers: parts computed elsewhere (server/route*.c) ---- */

/* Reads a protobuf answer of a view defined by @p def, with rows of
 * @p kind, back into @p res (reset first): a RowList (@p multi 0: a range
 * scan page, next_cursor kept) or a MultiGetAnswer (@p multi 1). Column
 * names come from @p def (every instance runs the same config). Returns
 * ED_OK, ED_EINVAL (not such a message) or ED_ENOMEM. */
int ed_query_result_import(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                           int multi, const void *pb, size_t len);

/* Merges range scan pages @p pages[0..n) of a view of @p kind, each over its own
 * partitions and each at most @p limit rows (0: the default), into one page
 * of at most @p limit rows in store-key order: the positions of every page
 * (by partition) and, when rows remain (more rows than the limit, or a page
 * with a next_cursor), the cursor of the last row kept, as a local scan
 * makes it. Returns the status (200, or 500 out of memory). */
int ed_query_merge_pages(ed_query_result_t *out, ed_store_kind_t kind,
                         ed_query_result_t *const *pages, size_t n, size_t limit);

/* Puts multi-get parts back together: row i of @p out is row @p row_of[i]
 * of part @p part_of[i]; positions of every part, by partition. Returns
 * the status (200; 502 when a part lacks a row; 500 out of memory). */
int ed_query_merge_multi(ed_query_result_t *out, ed_query_result_t *const *parts, size_t n,
                         const uint32_t *part_of, const uint32_t *row_of, size_t nkeys);

/* Appends a protobuf MultiGetRequest of keys @p idx[0..n) of @p keys to
 * @p out. Returns ED_OK or ED_ENOMEM. */
int ed_query_keys_encode_pb(const ed_query_keys_t *keys, const uint32_t *idx, size_t n,
                            ed_buf_t *out);

/* ---- JSON conveniences (exec + encode as JSON) ---- */

/* GET /v1/views as JSON appended to @p out; returns the status. */
int ed_query_views(ed_engine_t *e, ed_buf_t *out);

/* A key lookup as JSON appended to @p out; returns the status. */
int ed_query_get_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                     size_t key_len, const ed_query_key_opts_t *opts, ed_buf_t *out);

/* Appends a JSON error body; returns @p status for convenience. */
int ed_query_error(ed_buf_t *out, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends an error body in @p enc (message: @p len raw bytes); returns
 * @p status. For errors found outside the query module (HTTP routing,
 * limits, min_offset timeouts). */
int ed_query_error_encode(ed_buf_t *out, ed_query_enc_t enc, int status, const char *code,
                          const char *msg, size_t len);

/* A position reached, for ed_query_timeout_encode(). */
typedef struct {
  int32_t partition;
  int64_t offset;
  int64_t stream_time; /* INT64_MIN: none yet */
} ed_query_position_t;

/* Appends a 504 "timeout" error carrying the positions reached (JSON:
 * {"error":{..},"positions":[..]}; protobuf: Error with positions). Returns
 * 504. */
int ed_query_timeout_encode(ed_buf_t *out, ed_query_enc_t enc, const char *msg,
                            const ed_query_position_t *pos, size_t n);

#endif
