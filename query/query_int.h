/* Internals of the query module, shared by its files. */
#ifndef ED_QUERY_QUERY_INT_H
#define ED_QUERY_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "query/query.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/topology.h"
#include "streams/view.h"

/* ---- the result model (result.c) ----
 *
 * Everything variable-length (keys, string and JSON columns, the error
 * message, the cursor) is copied into res->bytes and referred to by
 * offset, so the arrays and the byte buffer may grow freely. Every span is
 * followed by a NUL byte (protobuf-c wants C strings). */

typedef struct {
  uint32_t off, len;
} ed__qspan_t;

typedef enum {
  ED__QRES_NONE = 0,
  ED__QRES_ERROR,
  ED__QRES_VIEWS, /* the engine's views */
  ED__QRES_KEY,   /* rows[0] with pos[0]: one key's answer */
  ED__QRES_ROWS,  /* a range scan page */
  ED__QRES_MULTI  /* a multi-get */
} ed__qres_kind_t;

/* One shown column: a result of ed_agg_result (never BYTES). */
typedef struct {
  const char *name; /* borrowed from the view definition; NULL: "col<index>" */
  uint32_t index;
  ed_col_type_t type; /* NULL, INT, DOUBLE, STRING or JSON */
  int64_t i;
  double d;
  ed__qspan_t s; /* STRING, JSON */
} ed__qcol_t;

typedef struct {
  int record;           /* 1: a latest view's record, one column, shown bare */
  uint32_t col0, ncols; /* res->cols[col0 .. col0 + ncols) */
} ed__qvalue_t;

typedef struct {
  int64_t start, end;
  ed__qvalue_t value;
} ed__qwin_t;

typedef struct {
  ed__qspan_t key; /* the record key */
  int missing;     /* multi-get: no row / no window in range */
  int windowed;    /* windows (win0, nwin) rather than value */
  ed__qvalue_t value;
  uint32_t win0, nwin; /* res->wins[win0 .. win0 + nwin) */
  int32_t partition;
} ed__qrow_t;

typedef struct {
  int32_t partition;
  int64_t offset;
  int has_stream_time;
  int64_t stream_time;
} ed__qpos_t;

struct ed_query_result {
  ed__qres_kind_t kind;
  int status;
  int scan_windows;    /* ROWS of a windowed view: one window per row, flat */
  int key_stream_time; /* KEY of a table view: show stream_time (render_key: 0) */
  char code[32];       /* ERROR */
  ed__qspan_t message; /* ERROR */
  int has_cursor;      /* ROWS */
  ed__qspan_t cursor;
  ed_engine_t *engine; /* VIEWS, borrowed */
  ed__qrow_t *rows;
  size_t nrows, caprows;
  ed__qcol_t *cols;
  size_t ncols, capcols;
  ed__qwin_t *wins;
  size_t nwins, capwins;
  ed__qpos_t *pos;
  size_t npos, cappos;
  ed_buf_t bytes;
  int oom; /* an allocation failed: the result is incomplete */
};

void ed__qres_init(ed_query_result_t *res);
void ed__qres_fini(ed_query_result_t *res);
/* Empties @p res for a new answer of @p kind, keeping its memory. */
void ed__qres_reset(ed_query_result_t *res, ed__qres_kind_t kind);

/* Copies @p len bytes (plus a NUL) into res->bytes. */
ed__qspan_t ed__qres_bytes(ed_query_result_t *res, const void *p, size_t len);
static inline const char *ed__qres_str(const ed_query_result_t *res, ed__qspan_t s) {
  return res->bytes.data ? res->bytes.data + s.off : "";
}

/* Appends a zeroed row / window / position; NULL when out of memory (then
 * res->oom is set). Pointers are valid until the next append of that kind. */
ed__qrow_t *ed__qres_row(ed_query_result_t *res);
ed__qwin_t *ed__qres_win(ed_query_result_t *res);
ed__qpos_t *ed__qres_pos(ed_query_result_t *res);
ed__qcol_t *ed__qres_col(ed_query_result_t *res);

/* Appends the value decoded from aggregate state columns @p cols into
 * *value: for a latest view the record itself; for other views each
 * aggregate's result (ed_agg_result) under its column name; for a
 * definition without aggregates (a custom store) every column as "col0",
 * "col1", ... Returns ED_OK, ED_EINVAL (the column count does not match the
 * definition) or ED_ENOMEM. */
int ed__qres_value(ed_query_result_t *res, const ed_view_def_t *def, const ed_col_t *cols,
                   size_t ncols, ed__qvalue_t *value);

/* Turns @p res into an error answer and returns the message buffer to
 * append the message to; end with ed__qres_error_end(). */
ed_buf_t *ed__qres_error_begin(ed_query_result_t *res, int status, const char *code);
/* Moves the message into the result; returns its status. */
int ed__qres_error_end(ed_query_result_t *res, ed_buf_t *msg);

/* The position a snapshot reflects: the per-topic meta "offset/<from>" of
 * the view's source when the engine writes one, else the task's "offset"
 * (0 if neither); the stream time when a record was seen. */
void ed__query_read_pos(ed_store_read_t *r, const ed_view_def_t *def, int32_t partition,
                        ed__qpos_t *pos);

/* Error answers shared by the executions (lookup.c): 404 for an unknown
 * view, 503 for a partition not assigned here. Return the status. */
int ed__query_view_not_found(ed_query_result_t *res, const char *view, size_t view_len);
int ed__query_unassigned(ed_query_result_t *res, const char *name, int32_t p);

/* ---- reading rows into a result (render.c) ---- */

/* Reads @p key's answer from snapshot @p r of a store of kind @p kind into
 * the row *@p row (already appended, key and partition set): KV its value;
 * WINDOWED and SESSION its windows in start order, narrowed by @p opts (may
 * be NULL; both bounds inclusive, on the start). Returns ED_OK, or:
 * ED_ENOTFOUND (no row, or no window in range), ED_EINVAL (a corrupt row or
 * key), ED_ETOOBIG (the key is too long to encode as a windowed key),
 * ED_ENOMEM or ED_ESTORE. @p row is an index into res->rows. */
int ed__query_read_key(ed_query_result_t *res, size_t row, const ed_view_def_t *def,
                       ed_store_kind_t kind, ed_store_read_t *r, const char *key, size_t klen,
                       const ed_query_key_opts_t *opts);

/* Decodes one windowed store value (with its start) into a window of the
 * result. Session rows end in their end column; time windows end at start +
 * size. Returns ED_OK, ED_EINVAL or ED_ENOMEM. */
int ed__query_read_window(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                          int64_t start, const void *val, size_t vlen, ed__qwin_t *out);

/* ---- encoders ---- */

/* JSON (encode_json.c) and protobuf (encode_pb.c) of @p res into @p out. */
int ed__query_encode_json(const ed_query_result_t *res, ed_buf_t *out);
int ed__query_encode_pb(const ed_query_result_t *res, ed_buf_t *out);

/* An Error message packed at the end of @p out (encode_pb.c). */
int ed__query_error_pb(ed_buf_t *out, const char *code, const char *msg);
int ed__query_timeout_pb(ed_buf_t *out, const char *msg, const ed_query_position_t *pos,
                         size_t n);

/* The views list (views.c). */
void ed__query_views_json(ed_engine_t *e, ed_buf_t *out);
int ed__query_views_pb(ed_engine_t *e, ed_buf_t *out);

/* Appends an error body whose message is the raw bytes @p msg (any bytes:
 * they are JSON-escaped); returns @p status. */
int ed__query_error_raw(ed_buf_t *out, int status, const char *code, const char *msg, size_t len);

/* ---- cursors (cursor.c) ----
 *
 * A cursor is base64url (no padding) of a version byte (1), the store kind
 * and the store key of the last row returned. */

#define ED__QUERY_CURSOR_MAX 700 /* characters, at most */

/* Appends the cursor text for @p key to @p out. */
void ed__query_cursor_encode(ed_buf_t *out, ed_store_kind_t kind, const void *key, size_t klen);

/* Decodes @p text into @p key (capacity ED_QUERY_MAX_KEY); *klen gets its
 * length. Returns ED_OK, or ED_EINVAL: not base64url, wrong version, another
 * store kind, or an empty or over-long key (a windowed key that does not
 * decode as one). */
int ed__query_cursor_decode(const char *text, size_t len, ed_store_kind_t kind, uint8_t *key,
                            size_t *klen);

/* ---- range scans (scan.c) ---- */

/* One page of a range scan over @p stores[0..n) (the view's partitions
 * @p parts, ascending) into @p res (reset to a ROWS answer by the caller):
 * checks @p scan (400s), merges, records a position per partition from
 * the snapshot it read. Returns the status. */
int ed__query_scan_page(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                        ed_store_t *const *stores, const int32_t *parts, size_t n,
                        const ed_query_scan_t *scan);

/* ---- the k-way merge (merge.c) ---- */

/* One partition's ordered source: a snapshot and an iterator positioned in
 * the scan's range. */
typedef struct {
  int32_t partition;
  ed_store_read_t r;
  ed_store_iter_t it;
  int open, iter_open; /* the snapshot / the iterator is open */
  int done;
  const void *k, *v; /* the current row (borrowed from the snapshot) */
  size_t kl, vl;
} ed__qsrc_t;

/* The scan's bounds, in store key space. */
typedef struct {
  ed_store_kind_t kind;
  const uint8_t *lo; /* first store key to consider (NULL: from the start) */
  size_t lo_len;
  int lo_exclusive;  /* 1: skip a row equal to lo (a cursor) */
  const uint8_t *hi; /* store keys >= hi end the scan (NULL: no end) */
  size_t hi_len;
  int has_wfrom, has_wto; /* windowed: bounds on the window start */
  int64_t wfrom, wto;
} ed__qbounds_t;

/* A k-way merge over sources, smallest store key first. Caller-embedded. */
typedef struct {
  ed__qsrc_t *src;
  size_t nsrc;
  size_t *heap; /* indices into src of the sources not done */
  size_t nheap;
  const ed__qbounds_t *b;
} ed__qmerge_t;

/* Starts @p m over stores @p stores[0..n) (partition i = @p parts[i]): opens a
 * snapshot of each, in the order given (ascending partitions, the lock
 * order that keeps concurrent scans from deadlocking on a map resize),
 * positions each in @p b and heapifies. @p b is borrowed until
 * ed__qmerge_end(). Returns ED_OK, ED_ENOMEM or ED_ESTORE; on failure call
 * ed__qmerge_end() as well. */
int ed__qmerge_begin(ed__qmerge_t *m, ed_store_t *const *stores, const int32_t *parts, size_t n,
                     const ed__qbounds_t *b);

/* The smallest current row: ED_OK with *src (its source: key, value,
 * partition; borrowed until the next call), or ED_ENOTFOUND when every
 * source is done, or ED_ESTORE / ED_EINVAL. Call ed__qmerge_pop() after
 * using it. */
int ed__qmerge_peek(ed__qmerge_t *m, ed__qsrc_t **src);

/* Advances the source of the last peek. Returns ED_OK or an error. */
int ed__qmerge_pop(ed__qmerge_t *m);

/* Closes every iterator and snapshot; frees. Safe after a failed begin. */
void ed__qmerge_end(ed__qmerge_t *m);

/* ---- rendering to JSON, for the stream engine's tests ---- */

/* Appends the whole JSON answer for @p key read from snapshot @p r of a store
 * of kind @p kind: KV {"key","value","partition","offset"}; WINDOWED and
 * SESSION {"key","windows":[{"start","end","value"},..],"partition","offset"
 * [,"stream_time"]}, windows in start order, narrowed by @p opts (may be
 * NULL; both bounds inclusive, on the start). @p key is the record key.
 * Returns ED_OK, or with nothing appended: ED_ENOTFOUND (no row, or no
 * window in range), ED_EINVAL (a corrupt row or key), ED_ETOOBIG (the key is
 * too long to encode as a windowed key) or ED_ESTORE. The answer borrows
 * nothing: @p r may end right after. */
int ed__query_render_key(ed_buf_t *out, const ed_view_def_t *def, ed_store_kind_t kind,
                         ed_store_read_t *r, const char *key, size_t klen, int32_t partition,
                         const ed_query_key_opts_t *opts);

#endif
