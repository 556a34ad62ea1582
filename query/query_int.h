/* Internals of the query module, shared by its files. */
#ifndef ED_QUERY_QUERY_INT_H
#define ED_QUERY_QUERY_INT_H

#include <stddef.h>

#include "common/buf.h"
#include "query/query.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/topology.h"
#include "streams/view.h"

/* Appends an error body whose message is the raw bytes @p msg (any bytes:
 * they are JSON-escaped); returns @p status. */
int ed__query_error_raw(ed_buf_t *out, int status, const char *code, const char *msg, size_t len);

/* Message builder for errors that quote caller input (keys, view names):
 * collects raw bytes in a scratch buffer so no printf truncation or NUL
 * cut-off can happen. Caller-embedded; ends with ed__query_msg_error(). */
typedef struct {
  ed_buf_t buf;
} ed__query_msg_t;

void ed__query_msg_init(ed__query_msg_t *m);
void ed__query_msg_raw(ed__query_msg_t *m, const char *s, size_t len);
void ed__query_msg_puts(ed__query_msg_t *m, const char *s);
/* Appends the error body to @p out, frees the builder, returns @p status. */
int ed__query_msg_error(ed__query_msg_t *m, ed_buf_t *out, int status, const char *code);

/* ---- rendering (render.c): no engine needed, so unit-testable ---- */

/* Appends one column as JSON: INT and DOUBLE as numbers, STRING as a JSON
 * string, JSON verbatim, NULL and BYTES (internal state) as null. */
void ed__query_put_col(ed_buf_t *out, const ed_col_t *c);

/* Appends a row's value from its aggregate state columns @p cols: for a
 * latest view the record value itself; for other views an object of each
 * aggregate's result (ed_agg_result) under its column name; for a
 * definition without aggregates (a custom store) every column as "col0",
 * "col1", ... Returns ED_OK, or ED_EINVAL (the column count does not match
 * the definition; the output is then incomplete). */
int ed__query_put_value(ed_buf_t *out, const ed_view_def_t *def, const ed_col_t *cols,
                        size_t ncols);

/* Appends the whole answer for @p key read from snapshot @p r of a store of
 * kind @p kind: KV {"key","value","partition","offset"}; WINDOWED and SESSION
 * {"key","windows":[{"start","end","value"},..],"partition","offset"
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
