/* Reading one key's answer from a store snapshot into a result: the row of
 * a table or latest view, or the windows of a windowed or session view.
 * Needs no engine: a store snapshot, the view's definition and its store
 * kind. */
#include <string.h>

#include "common/err.h"
#include "query/query.h"
#include "query/query_int.h"
#include "store/row.h"
#include "streams/window.h"

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

int ed__query_read_window(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                          int64_t start, const void *val, size_t vlen, ed__qwin_t *out) {
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
  out->start = start;
  out->end = end;
  return ed__qres_value(res, def, cols, ncols, &out->value);
}

static int read_kv(ed_query_result_t *res, size_t row, const ed_view_def_t *def, ed_store_read_t *r,
                   const char *key, size_t klen) {
  const void *val = NULL;
  size_t vlen = 0;
  int rc = ed_store_read_get(r, key, klen, &val, &vlen);
  if (rc != ED_OK) return rc;
  ed_col_t cols[ED_ROW_MAX_COLS];
  size_t ncols = 0;
  if (ed_row_decode(val, vlen, cols, ED_ROW_MAX_COLS, &ncols) != ED_OK) return ED_EINVAL;
  ed__qvalue_t value;
  rc = ed__qres_value(res, def, cols, ncols, &value);
  if (rc == ED_OK) res->rows[row].value = value;
  return rc;
}

static int read_windows(ed_query_result_t *res, size_t row, const ed_view_def_t *def,
                        ed_store_kind_t kind, ed_store_read_t *r, const char *key, size_t klen,
                        const ed_query_key_opts_t *opts) {
  int64_t from = opts && opts->has_from ? opts->from : INT64_MIN;
  int64_t to = opts && opts->has_to ? opts->to : INT64_MAX;
  res->rows[row].windowed = 1;
  res->rows[row].win0 = (uint32_t)res->nwins;
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
  size_t win0 = res->nwins, ncols0 = res->ncols;
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
    ed__qwin_t w;
    if ((rc = ed__query_read_window(res, def, kind, start, val, vlen, &w)) != ED_OK) break;
    ed__qwin_t *slot = ed__qres_win(res);
    if (slot == NULL) {
      rc = ED_ENOMEM;
      break;
    }
    *slot = w;
  }
  ed_store_iter_close(&it);
  if (rc == ED_OK && res->nwins == win0) rc = ED_ENOTFOUND;
  if (rc != ED_OK) { /* drop what this key appended */
    res->nwins = win0;
    res->ncols = ncols0;
    return rc;
  }
  res->rows[row].nwin = (uint32_t)(res->nwins - win0);
  return ED_OK;
}

int ed__query_read_key(ed_query_result_t *res, size_t row, const ed_view_def_t *def,
                       ed_store_kind_t kind, ed_store_read_t *r, const char *key, size_t klen,
                       const ed_query_key_opts_t *opts) {
  if (kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION)
    return read_windows(res, row, def, kind, r, key, klen, opts);
  return read_kv(res, row, def, r, key, klen);
}

int ed__query_render_key(ed_buf_t *out, const ed_view_def_t *def, ed_store_kind_t kind,
                         ed_store_read_t *r, const char *key, size_t klen, int32_t partition,
                         const ed_query_key_opts_t *opts) {
  ed_query_result_t res;
  ed__qres_init(&res);
  ed__qres_reset(&res, ED__QRES_KEY);
  res.key_stream_time = 0; /* this JSON shape: stream_time on windowed answers only */
  int rc = ED_ENOMEM;
  ed__qrow_t *row = ed__qres_row(&res);
  ed__qpos_t *pos = ed__qres_pos(&res);
  if (row != NULL && pos != NULL) {
    row->key = ed__qres_bytes(&res, key, klen);
    row->partition = partition;
    ed__query_read_pos(r, def, partition, pos);
    rc = res.oom ? ED_ENOMEM : ed__query_read_key(&res, 0, def, kind, r, key, klen, opts);
  }
  if (rc == ED_OK) {
    res.status = 200;
    ed_buf_t tmp;
    ed_buf_init(&tmp);
    rc = ed__query_encode_json(&res, &tmp);
    if (rc == ED_OK && ed_buf_failed(&tmp)) rc = ED_ENOMEM;
    if (rc == ED_OK) ed_buf_append(out, tmp.data, tmp.len);
    ed_buf_fini(&tmp);
  }
  ed__qres_fini(&res);
  return rc;
}
