/* GET /v1/views/{view}/rows: one page of a range scan, a k-way merge of one
 * snapshot per partition (merge.c). Every snapshot of the page is ended
 * before this returns: a page never holds a read across requests, and a
 * cursor is a key, not a snapshot. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "query/query.h"
#include "query/query_int.h"
#include "streams/window.h"

static int is_windowed(ed_store_kind_t kind) {
  return kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION;
}

static int key_cmp(const void *a, size_t al, const void *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

/* Checks the parameters and sets the bounds; returns 0 or an error status. */
static int make_bounds(ed_query_result_t *res, const char *name, ed_store_kind_t kind,
                       const ed_query_scan_t *scan, ed__qbounds_t *b, uint8_t *lo, uint8_t *hi,
                       uint8_t *cur) {
  memset(b, 0, sizeof *b);
  b->kind = kind;
  int win = is_windowed(kind);
  if (!win && (scan->has_window_from || scan->has_window_to))
    return ed_query_fail(res, 400, "bad_request",
                         "query parameter '%s' applies to windowed views only; view '%s' is not "
                         "windowed",
                         scan->has_window_from ? "window_from" : "window_to", name);
  if (scan->has_window_from && scan->has_window_to && scan->window_from > scan->window_to)
    return ed_query_fail(res, 400, "bad_request",
                         "query parameter 'window_from' (%" PRId64
                         ") is after 'window_to' (%" PRId64 ")",
                         scan->window_from, scan->window_to);
  b->has_wfrom = scan->has_window_from;
  b->wfrom = scan->window_from;
  b->has_wto = scan->has_window_to;
  b->wto = scan->window_to;

  if (scan->from != NULL && scan->from_len > 0) {
    if (win) { /* every window of keys >= from sorts at or after from's prefix */
      size_t n = ed_wkey_prefix(scan->from, scan->from_len, lo, ED_WKEY_MAX);
      if (n == 0)
        return ed_query_fail(res, 400, "bad_request",
                             "query parameter 'from' is too long for windowed view '%s'", name);
      b->lo = lo;
      b->lo_len = n;
    } else {
      b->lo = (const uint8_t *)scan->from; /* may exceed 511 bytes: the seek copes */
      b->lo_len = scan->from_len;
    }
  }
  if (scan->to != NULL) {
    if (scan->to_len == 0) { /* nothing is below the empty key */
      b->hi = (const uint8_t *)"";
      b->hi_len = 0;
    } else if (win) { /* a record key < to  <=>  its store keys < to's prefix */
      size_t n = ed_wkey_prefix(scan->to, scan->to_len, hi, ED_WKEY_MAX);
      if (n == 0)
        return ed_query_fail(res, 400, "bad_request",
                             "query parameter 'to' is too long for windowed view '%s'", name);
      b->hi = hi;
      b->hi_len = n;
    } else {
      b->hi = (const uint8_t *)scan->to;
      b->hi_len = scan->to_len;
    }
  }
  if (scan->cursor != NULL) {
    size_t cl = 0;
    if (ed__query_cursor_decode(scan->cursor, scan->cursor_len, kind, cur, &cl) != ED_OK)
      return ed_query_fail(res, 400, "bad_request",
                           "query parameter 'cursor' is malformed: pass the next_cursor of a "
                           "previous page of view '%s' unchanged",
                           name);
    if (b->lo == NULL || key_cmp(cur, cl, b->lo, b->lo_len) >= 0) {
      b->lo = cur;
      b->lo_len = cl;
      b->lo_exclusive = 1;
    }
  }
  return 0;
}

/* Appends the row at @p src to the page. */
static int add_row(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                   const ed__qsrc_t *src) {
  ed__qrow_t *row = ed__qres_row(res);
  if (row == NULL) return ED_ENOMEM;
  size_t ri = res->nrows - 1;
  row->partition = src->partition;
  if (!is_windowed(kind)) {
    row->key = ed__qres_bytes(res, src->k, src->kl);
    ed_col_t cols[ED_ROW_MAX_COLS];
    size_t ncols = 0;
    if (ed_row_decode(src->v, src->vl, cols, ED_ROW_MAX_COLS, &ncols) != ED_OK) return ED_EINVAL;
    ed__qvalue_t value;
    int rc = ed__qres_value(res, def, cols, ncols, &value);
    res->rows[ri].value = value;
    return rc;
  }
  uint8_t key[ED_WKEY_MAX];
  size_t klen = 0;
  int64_t start = 0;
  if (ed_wkey_decode(src->k, src->kl, key, sizeof key, &klen, &start) != ED_OK) return ED_EINVAL;
  row->key = ed__qres_bytes(res, key, klen);
  ed__qwin_t w;
  int rc = ed__query_read_window(res, def, kind, start, src->v, src->vl, &w);
  if (rc != ED_OK) return rc;
  ed__qwin_t *slot = ed__qres_win(res);
  if (slot == NULL) return ED_ENOMEM;
  *slot = w;
  res->rows[ri].windowed = 1;
  res->rows[ri].win0 = (uint32_t)(res->nwins - 1);
  res->rows[ri].nwin = 1;
  return ED_OK;
}

int ed__query_scan_page(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                        ed_store_t *const *stores, const int32_t *parts, size_t n,
                        const ed_query_scan_t *scan) {
  const char *name = def->name;
  size_t limit = scan->limit ? scan->limit : ED_QUERY_DEFAULT_LIMIT;
  if (limit > ED_QUERY_MAX_LIMIT)
    return ed_query_fail(res, 400, "bad_request",
                         "query parameter 'limit' must be an integer from 1 to %d",
                         ED_QUERY_MAX_LIMIT);
  ed__qbounds_t b;
  uint8_t lo[ED_WKEY_MAX], hi[ED_WKEY_MAX], cur[ED_QUERY_MAX_KEY];
  int bad = make_bounds(res, name, kind, scan, &b, lo, hi, cur);
  if (bad) return bad;
  res->scan_windows = is_windowed(kind);

  ed__qmerge_t m;
  int rc = ed__qmerge_begin(&m, stores, parts, n, &b);
  /* positions from the very snapshots the rows come from */
  for (size_t i = 0; i < m.nsrc && rc == ED_OK; i++) {
    ed__qpos_t *pos = ed__qres_pos(res);
    if (pos == NULL)
      rc = ED_ENOMEM;
    else
      ed__query_read_pos(&m.src[i].r, def, m.src[i].partition, pos);
  }
  const void *last = NULL;
  size_t last_len = 0, rows = 0;
  while (rc == ED_OK) {
    ed__qsrc_t *src = NULL;
    rc = ed__qmerge_peek(&m, &src);
    if (rc == ED_ENOTFOUND) {
      rc = ED_OK;
      break;
    }
    if (rc != ED_OK) break;
    if (rows == limit) { /* more remain: resume after the last row */
      ed_buf_t c;
      ed_buf_init(&c);
      ed__query_cursor_encode(&c, kind, last, last_len);
      if (ed_buf_failed(&c))
        rc = ED_ENOMEM;
      else {
        res->cursor = ed__qres_bytes(res, c.data, c.len);
        res->has_cursor = 1;
      }
      ed_buf_fini(&c);
      break;
    }
    if ((rc = add_row(res, def, kind, src)) != ED_OK) break;
    last = src->k; /* valid until the snapshot ends */
    last_len = src->kl;
    rows++;
    rc = ed__qmerge_pop(&m);
  }
  ed__qmerge_end(&m);
  if (rc == ED_OK && res->oom) rc = ED_ENOMEM;
  switch (rc) {
  case ED_OK: res->status = 200; return 200;
  case ED_ENOMEM: return ed_query_fail(res, 500, "internal", "out of memory");
  case ED_EINVAL: return ed_query_fail(res, 500, "internal", "view '%s': corrupt row", name);
  default: return ed_query_fail(res, 503, "unavailable", "view '%s': %s", name, ed_strerror(rc));
  }
}
