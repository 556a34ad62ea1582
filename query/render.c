/* Rendering one key's answer from a store snapshot: the row of a table or
 * latest view, or the windows of a windowed or session view. Needs no
 * engine: a store snapshot, the view's definition and its store kind. */
#include <string.h>

#include "common/err.h"
#include "query/query.h"
#include "query/query_int.h"
#include "store/row.h"
#include "streams/window.h"

void ed__query_put_col(ed_buf_t *out, const ed_col_t *c) {
  switch (c->type) {
  case ED_COL_INT: ed_buf_append_i64(out, c->v.i); return;
  case ED_COL_DOUBLE: ed_buf_append_double(out, c->v.d); return;
  case ED_COL_STRING: ed_buf_append_json_string(out, c->v.s.p, c->v.s.len); return;
  case ED_COL_JSON:
    if (c->v.s.len > 0) {
      ed_buf_append(out, c->v.s.p, c->v.s.len);
      return;
    }
    break;           /* an empty JSON text would make the answer invalid */
  case ED_COL_BYTES: /* internal state, never shown */
  case ED_COL_NULL: break;
  }
  ed_buf_puts(out, "null");
}

static void put_name(ed_buf_t *out, const char *name, size_t i) {
  if (name != NULL)
    ed_buf_append_json_string(out, name, strlen(name));
  else
    ed_buf_printf(out, "\"col%zu\"", i);
}

/* State columns the definition's aggregates take. */
static size_t state_width(const ed_view_def_t *def) {
  size_t w = 0;
  for (size_t i = 0; i < def->naggs; i++)
    w += ed_agg_state_width(def->aggs[i].kind);
  return w;
}

int ed__query_put_value(ed_buf_t *out, const ed_view_def_t *def, const ed_col_t *cols,
                        size_t ncols) {
  if (def->naggs == 0) { /* undescribed store: every column, by index */
    ed_buf_putc(out, '{');
    for (size_t i = 0; i < ncols; i++) {
      if (i > 0) ed_buf_putc(out, ',');
      put_name(out, NULL, i);
      ed_buf_putc(out, ':');
      ed__query_put_col(out, &cols[i]);
    }
    ed_buf_putc(out, '}');
    return ED_OK;
  }
  if (ncols != state_width(def)) return ED_EINVAL;
  ed_col_t res;
  if (ed_view_is_latest(def)) { /* the record itself */
    ed_agg_result(def->aggs[0].kind, &cols[0], &res);
    ed__query_put_col(out, &res);
    return ED_OK;
  }
  ed_buf_putc(out, '{');
  size_t off = 0;
  for (size_t i = 0; i < def->naggs; i++) {
    const ed_agg_def_t *a = &def->aggs[i];
    if (i > 0) ed_buf_putc(out, ',');
    put_name(out, a->column, i);
    ed_buf_putc(out, ':');
    ed_agg_result(a->kind, &cols[off], &res);
    ed__query_put_col(out, &res);
    off += ed_agg_state_width(a->kind);
  }
  ed_buf_putc(out, '}');
  return ED_OK;
}

/* Drops what was appended after @p mark (an answer that failed half-way). */
static void truncate_to(ed_buf_t *out, size_t mark) {
  if (out->len > mark) out->len = mark;
  if (out->data != NULL && out->len < out->cap) out->data[out->len] = '\0';
}

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

/* The offset the snapshot reflects: the per-topic meta of the view's source
 * when the engine writes one, else the task's "offset"; 0 if neither. */
static int64_t read_offset(ed_store_read_t *r, const ed_view_def_t *def) {
  int64_t v = 0;
  if (def->from != NULL) {
    char name[512];
    size_t n = strlen(def->from);
    if (n + 8 <= sizeof name) {
      memcpy(name, "offset/", 7);
      memcpy(name + 7, def->from, n + 1);
      if (ed_store_read_meta(r, name, &v) == ED_OK) return v;
    }
  }
  if (ed_store_read_meta(r, ED_STORE_META_OFFSET, &v) == ED_OK) return v;
  return 0;
}

static void put_tail(ed_buf_t *out, ed_store_read_t *r, const ed_view_def_t *def, int32_t partition,
                     int with_stream_time) {
  ed_buf_puts(out, ",\"partition\":");
  ed_buf_append_i64(out, partition);
  ed_buf_puts(out, ",\"offset\":");
  ed_buf_append_i64(out, read_offset(r, def));
  int64_t st = 0;
  if (with_stream_time && ed_store_read_meta(r, ED_STORE_META_STREAM_TIME, &st) == ED_OK &&
      st != INT64_MIN) { /* INT64_MIN: no record seen yet */
    ed_buf_puts(out, ",\"stream_time\":");
    ed_buf_append_i64(out, st);
  }
  ed_buf_putc(out, '}');
}

static int render_kv(ed_buf_t *out, const ed_view_def_t *def, ed_store_read_t *r, const char *key,
                     size_t klen, int32_t partition) {
  const void *val = NULL;
  size_t vlen = 0;
  int rc = ed_store_read_get(r, key, klen, &val, &vlen);
  if (rc != ED_OK) return rc;
  ed_col_t cols[ED_ROW_MAX_COLS];
  size_t ncols = 0;
  if (ed_row_decode(val, vlen, cols, ED_ROW_MAX_COLS, &ncols) != ED_OK) return ED_EINVAL;
  size_t mark = out->len;
  ed_buf_puts(out, "{\"key\":");
  ed_buf_append_json_string(out, key, klen);
  ed_buf_puts(out, ",\"value\":");
  if (ed__query_put_value(out, def, cols, ncols) != ED_OK) {
    truncate_to(out, mark);
    return ED_EINVAL;
  }
  put_tail(out, r, def, partition, 0);
  return ED_OK;
}

/* One window: {"start":..,"end":..,"value":..}. Session rows end in their
 * end column; time windows end at start + size. */
static int put_window(ed_buf_t *out, const ed_view_def_t *def, ed_store_kind_t kind, int64_t start,
                      const void *val, size_t vlen) {
  ed_col_t cols[ED_ROW_MAX_COLS];
  size_t ncols = 0;
  if (ed_row_decode(val, vlen, cols, ED_ROW_MAX_COLS, &ncols) != ED_OK) return ED_EINVAL;
  int64_t end;
  if (kind == ED_STORE_KIND_SESSION) {
    if (ncols == 0 || cols[ncols - 1].type != ED_COL_INT) return ED_EINVAL;
    end = cols[--ncols].v.i;
  } else {
    end = sat_add(start, def->window.size);
  }
  ed_buf_puts(out, "{\"start\":");
  ed_buf_append_i64(out, start);
  ed_buf_puts(out, ",\"end\":");
  ed_buf_append_i64(out, end);
  ed_buf_puts(out, ",\"value\":");
  int rc = ed__query_put_value(out, def, cols, ncols);
  ed_buf_putc(out, '}');
  return rc;
}

static int render_windows(ed_buf_t *out, const ed_view_def_t *def, ed_store_kind_t kind,
                          ed_store_read_t *r, const char *key, size_t klen, int32_t partition,
                          const ed_query_key_opts_t *opts) {
  int64_t from = opts && opts->has_from ? opts->from : INT64_MIN;
  int64_t to = opts && opts->has_to ? opts->to : INT64_MAX;
  if (from > to) return ED_ENOTFOUND;

  uint8_t prefix[ED_WKEY_MAX], seek[ED_WKEY_MAX], kbuf[ED_WKEY_MAX];
  size_t plen = ed_wkey_prefix(key, klen, prefix, sizeof prefix);
  size_t slen = ed_wkey_encode(key, klen, from, seek, sizeof seek);
  if (plen == 0 || slen == 0) return ED_ETOOBIG;

  ed_store_iter_t it;
  int rc = ed_store_iter_seek(r, &it, seek, slen);
  if (rc != ED_OK) {
    ed_store_iter_close(&it);
    return rc;
  }
  size_t mark = out->len, nwin = 0;
  for (;;) {
    const void *k = NULL, *val = NULL;
    size_t kl = 0, vlen = 0;
    rc = ed_store_iter_next(&it, &k, &kl, &val, &vlen);
    if (rc == ED_ENOTFOUND) {
      rc = ED_OK;
      break;
    }
    if (rc != ED_OK) break;
    if (kl < plen || memcmp(k, prefix, plen) != 0) break; /* past this key's rows */
    size_t dklen = 0;
    int64_t start = 0;
    if (ed_wkey_decode(k, kl, kbuf, sizeof kbuf, &dklen, &start) != ED_OK) {
      rc = ED_EINVAL;
      break;
    }
    if (start > to) break;
    if (nwin == 0) {
      ed_buf_puts(out, "{\"key\":");
      ed_buf_append_json_string(out, key, klen);
      ed_buf_puts(out, ",\"windows\":[");
    } else {
      ed_buf_putc(out, ',');
    }
    nwin++;
    if ((rc = put_window(out, def, kind, start, val, vlen)) != ED_OK) break;
  }
  ed_store_iter_close(&it);
  if (rc == ED_OK && nwin == 0) rc = ED_ENOTFOUND;
  if (rc != ED_OK) {
    truncate_to(out, mark);
    return rc;
  }
  ed_buf_putc(out, ']');
  put_tail(out, r, def, partition, 1);
  return ED_OK;
}

int ed__query_render_key(ed_buf_t *out, const ed_view_def_t *def, ed_store_kind_t kind,
                         ed_store_read_t *r, const char *key, size_t klen, int32_t partition,
                         const ed_query_key_opts_t *opts) {
  if (kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION)
    return render_windows(out, def, kind, r, key, klen, partition, opts);
  return render_kv(out, def, r, key, klen, partition);
}
