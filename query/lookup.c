/* GET /v1/views/{view}/keys/{key}: one point lookup in the partition that
 * owns the key, in one LMDB read snapshot (the row and the offset it
 * reflects come from the same snapshot, so they always agree). */
#include <inttypes.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"
#include "query/query.h"
#include "query/query_int.h"
#include "store/row.h"

/* LMDB's default maximum key size; ed_store_commit refuses longer keys. */
#define ED_QUERY_MAX_KEY 511

static int view_not_found(ed_buf_t *out, const char *view, size_t view_len) {
  ed__query_msg_t m;
  ed__query_msg_init(&m);
  ed__query_msg_puts(&m, "view '");
  ed__query_msg_raw(&m, view, view_len);
  ed__query_msg_puts(&m, "' not found");
  return ed__query_msg_error(&m, out, 404, "not_found");
}

static int key_not_found(ed_buf_t *out, const char *name, const char *key, size_t key_len) {
  ed__query_msg_t m;
  ed__query_msg_init(&m);
  ed__query_msg_puts(&m, "key '");
  ed__query_msg_raw(&m, key, key_len);
  ed__query_msg_puts(&m, "' not found in view '");
  ed__query_msg_puts(&m, name);
  ed__query_msg_puts(&m, "'");
  return ed__query_msg_error(&m, out, 404, "not_found");
}

static void put_col(ed_buf_t *out, const ed_col_t *c) {
  switch (c->type) {
  case ED_COL_INT: ed_buf_append_i64(out, c->v.i); return;
  case ED_COL_DOUBLE: ed_buf_append_double(out, c->v.d); return;
  case ED_COL_STRING: ed_buf_append_json_string(out, c->v.s.p, c->v.s.len); return;
  case ED_COL_JSON: ed_buf_append(out, c->v.s.p, c->v.s.len); return;
  case ED_COL_BYTES: /* internal state, never shown */
  case ED_COL_NULL: break;
  }
  ed_buf_puts(out, "null");
}

static void put_row(ed_buf_t *out, const ed_view_def_t *def, const char *key, size_t key_len,
                    const ed_col_t *cols, size_t ncols, int32_t p, int64_t offset) {
  ed_buf_puts(out, "{\"key\":");
  ed_buf_append_json_string(out, key, key_len);
  ed_buf_puts(out, ",\"value\":{");
  for (size_t i = 0; i < ncols; i++) {
    if (i > 0) ed_buf_putc(out, ',');
    if (i < def->naggs && def->aggs[i].column != NULL) {
      ed_buf_append_json_string(out, def->aggs[i].column, strlen(def->aggs[i].column));
    } else { /* a row with more columns than the definition: name them by index */
      ed_buf_printf(out, "\"col%zu\"", i);
    }
    ed_buf_putc(out, ':');
    put_col(out, &cols[i]);
  }
  ed_buf_puts(out, "},\"partition\":");
  ed_buf_append_i64(out, p);
  ed_buf_puts(out, ",\"offset\":");
  ed_buf_append_i64(out, offset);
  ed_buf_putc(out, '}');
}

int ed_query_get_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                     size_t key_len, ed_buf_t *out) {
  ed_view_t *v = ed_engine_find_view(e, view, view_len);
  if (v == NULL) return view_not_found(out, view, view_len);
  const char *name = ed_view_def(v)->name;

  if (key_len == 0) return ed_query_error(out, 400, "bad_request", "key is empty");
  if (key_len > ED_QUERY_MAX_KEY)
    return ed_query_error(out, 400, "bad_request", "key is %zu bytes; keys are at most %d bytes",
                          key_len, ED_QUERY_MAX_KEY);

  int32_t n = ed_view_partition_count(v);
  if (n <= 0)
    return ed_query_error(out, 503, "unavailable", "view '%s' has no partitions yet", name);
  int32_t p = ed_partition_for_key(key, key_len, n);

  ed_store_t *s = ed_view_store(v, p);
  if (s == NULL)
    return ed_query_error(out, 503, "unavailable",
                          "partition %" PRId32
                          " of view '%s' is not available on this instance (not assigned yet)",
                          p, name);

  ed_store_read_t r;
  if (ed_store_read_begin(s, &r) != ED_OK) {
    ed_store_read_end(&r);
    return ed_query_error(out, 503, "unavailable",
                          "partition %" PRId32 " of view '%s': cannot start a read", p, name);
  }
  const void *val = NULL;
  size_t vlen = 0;
  int rc = ed_store_read_get(&r, key, key_len, &val, &vlen);
  if (rc == ED_ENOTFOUND) {
    ed_store_read_end(&r);
    return key_not_found(out, name, key, key_len);
  }
  if (rc != ED_OK) {
    ed_store_read_end(&r);
    return ed_query_error(out, 500, "internal", "partition %" PRId32 " of view '%s': %s", p, name,
                          ed_strerror(rc));
  }
  int64_t offset = 0;
  if (ed_store_read_meta(&r, ED_STORE_META_OFFSET, &offset) != ED_OK) offset = 0;

  /* decode and encode while the snapshot is open: STRING columns borrow
   * from the map */
  ed_col_t cols[ED_ROW_MAX_COLS];
  size_t ncols = 0;
  if (ed_row_decode(val, vlen, cols, ED_ROW_MAX_COLS, &ncols) != ED_OK) {
    ed_store_read_end(&r);
    return ed_query_error(out, 500, "internal", "partition %" PRId32 " of view '%s': corrupt row",
                          p, name);
  }
  put_row(out, ed_view_def(v), key, key_len, cols, ncols, p, offset);
  ed_store_read_end(&r);
  return 200;
}
