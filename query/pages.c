/* Answers put together from parts that other instances computed (the
 * routing in server/route*.c): protobuf pages read back into the result
 * model, range-scan pages merged in store-key order with the cursor a local
 * scan would give, multi-get parts put back in request order. The merged
 * result is then encoded like any local one, so a routed answer has the
 * shape of a single-instance answer. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/eddy.pb-c.h"
#include "query/query.h"
#include "query/query_int.h"
#include "streams/window.h"

static int is_windowed(ed_store_kind_t kind) {
  return kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION;
}

/* ---- protobuf pages into the result model ---- */

/* The name a local result would give column @p i of a value of @p def. */
static const char *col_name(const ed_view_def_t *def, size_t i, int record) {
  if (record || def->naggs == 0 || i >= def->naggs) return NULL;
  return def->aggs[i].column;
}

static int import_value(ed_query_result_t *res, const ed_view_def_t *def,
                        const Eddy__V1__Value *pv, ed__qvalue_t *out) {
  out->record = pv != NULL && pv->record;
  out->col0 = (uint32_t)res->ncols;
  out->ncols = 0;
  if (pv == NULL) return ED_OK;
  for (size_t i = 0; i < pv->n_columns; i++) {
    const Eddy__V1__Column *pc = pv->columns[i];
    ed__qcol_t c = {.name = col_name(def, i, out->record), .index = (uint32_t)i};
    switch (pc->value_case) {
    case EDDY__V1__COLUMN__VALUE_INT_VALUE:
      c.type = ED_COL_INT;
      c.i = pc->int_value;
      break;
    case EDDY__V1__COLUMN__VALUE_DOUBLE_VALUE:
      c.type = ED_COL_DOUBLE;
      c.d = pc->double_value;
      break;
    case EDDY__V1__COLUMN__VALUE_STRING_VALUE:
      c.type = ED_COL_STRING;
      c.s = ed__qres_bytes(res, pc->string_value, strlen(pc->string_value));
      break;
    case EDDY__V1__COLUMN__VALUE_JSON_VALUE:
      c.type = ED_COL_JSON;
      c.s = ed__qres_bytes(res, pc->json_value, strlen(pc->json_value));
      break;
    default: c.type = ED_COL_NULL; break;
    }
    ed__qcol_t *slot = ed__qres_col(res);
    if (slot == NULL) return ED_ENOMEM;
    *slot = c;
    out->ncols++;
  }
  return res->oom ? ED_ENOMEM : ED_OK;
}

static int import_row(ed_query_result_t *res, const ed_view_def_t *def, const Eddy__V1__Row *pr) {
  ed__qrow_t *row = ed__qres_row(res);
  if (row == NULL) return ED_ENOMEM;
  size_t ri = res->nrows - 1;
  row->partition = pr->partition;
  row->missing = pr->missing;
  row->key = ed__qres_bytes(res, pr->key.data, pr->key.len);
  if (pr->missing) return res->oom ? ED_ENOMEM : ED_OK;
  if (pr->n_windows == 0 && pr->value != NULL) {
    ed__qvalue_t v;
    int rc = import_value(res, def, pr->value, &v);
    res->rows[ri].value = v;
    return rc;
  }
  res->rows[ri].windowed = 1;
  res->rows[ri].win0 = (uint32_t)res->nwins;
  for (size_t i = 0; i < pr->n_windows; i++) {
    const Eddy__V1__Window *pw = pr->windows[i];
    ed__qvalue_t v;
    int rc = import_value(res, def, pw->value, &v);
    if (rc != ED_OK) return rc;
    ed__qwin_t *w = ed__qres_win(res);
    if (w == NULL) return ED_ENOMEM;
    w->start = pw->start;
    w->end = pw->end;
    w->value = v;
  }
  res->rows[ri].nwin = (uint32_t)pr->n_windows;
  return ED_OK;
}

static int import_positions(ed_query_result_t *res, Eddy__V1__Position **ps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ed__qpos_t *p = ed__qres_pos(res);
    if (p == NULL) return ED_ENOMEM;
    p->partition = ps[i]->partition;
    p->offset = ps[i]->offset;
    p->has_stream_time = ps[i]->has_stream_time;
    p->stream_time = ps[i]->stream_time;
  }
  return ED_OK;
}

int ed_query_result_import(ed_query_result_t *res, const ed_view_def_t *def, ed_store_kind_t kind,
                           int multi, const void *pb, size_t len) {
  ed__qres_reset(res, multi ? ED__QRES_MULTI : ED__QRES_ROWS);
  res->scan_windows = !multi && is_windowed(kind);
  int rc = ED_OK;
  if (multi) {
    Eddy__V1__MultiGetAnswer *m = eddy__v1__multi_get_answer__unpack(NULL, len, pb);
    if (m == NULL) return ED_EINVAL;
    for (size_t i = 0; i < m->n_rows && rc == ED_OK; i++)
      rc = import_row(res, def, m->rows[i]);
    if (rc == ED_OK) rc = import_positions(res, m->positions, m->n_positions);
    eddy__v1__multi_get_answer__free_unpacked(m, NULL);
  } else {
    Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, len, pb);
    if (l == NULL) return ED_EINVAL;
    for (size_t i = 0; i < l->n_rows && rc == ED_OK; i++)
      rc = import_row(res, def, l->rows[i]);
    if (rc == ED_OK) rc = import_positions(res, l->positions, l->n_positions);
    if (rc == ED_OK && l->next_cursor != NULL && l->next_cursor[0] != '\0') {
      res->cursor = ed__qres_bytes(res, l->next_cursor, strlen(l->next_cursor));
      res->has_cursor = 1;
    }
    eddy__v1__row_list__free_unpacked(l, NULL);
  }
  if (rc == ED_OK && res->oom) rc = ED_ENOMEM;
  if (rc == ED_OK) res->status = 200;
  return rc;
}

/* ---- copying between results ---- */

static int copy_value(ed_query_result_t *dst, const ed_query_result_t *src,
                      const ed__qvalue_t *sv, ed__qvalue_t *dv) {
  dv->record = sv->record;
  dv->col0 = (uint32_t)dst->ncols;
  dv->ncols = 0;
  for (uint32_t i = 0; i < sv->ncols; i++) {
    ed__qcol_t c = src->cols[sv->col0 + i];
    if (c.type == ED_COL_STRING || c.type == ED_COL_JSON)
      c.s = ed__qres_bytes(dst, ed__qres_str(src, c.s), c.s.len);
    ed__qcol_t *slot = ed__qres_col(dst);
    if (slot == NULL) return ED_ENOMEM;
    *slot = c;
    dv->ncols++;
  }
  return dst->oom ? ED_ENOMEM : ED_OK;
}

/* Appends a copy of row @p i of @p src to @p dst. */
static int copy_row(ed_query_result_t *dst, const ed_query_result_t *src, size_t i) {
  const ed__qrow_t *sr = &src->rows[i];
  ed__qrow_t *row = ed__qres_row(dst);
  if (row == NULL) return ED_ENOMEM;
  size_t ri = dst->nrows - 1;
  row->partition = sr->partition;
  row->missing = sr->missing;
  row->windowed = sr->windowed;
  row->key = ed__qres_bytes(dst, ed__qres_str(src, sr->key), sr->key.len);
  if (sr->missing) return dst->oom ? ED_ENOMEM : ED_OK;
  if (!sr->windowed) {
    ed__qvalue_t v;
    int rc = copy_value(dst, src, &sr->value, &v);
    dst->rows[ri].value = v;
    return rc;
  }
  dst->rows[ri].win0 = (uint32_t)dst->nwins;
  for (uint32_t k = 0; k < sr->nwin; k++) {
    const ed__qwin_t *sw = &src->wins[sr->win0 + k];
    ed__qvalue_t v;
    int rc = copy_value(dst, src, &sw->value, &v);
    if (rc != ED_OK) return rc;
    ed__qwin_t *w = ed__qres_win(dst);
    if (w == NULL) return ED_ENOMEM;
    w->start = sw->start;
    w->end = sw->end;
    w->value = v;
  }
  dst->rows[ri].nwin = sr->nwin;
  return ED_OK;
}

static int pos_cmp(const void *a, const void *b) {
  const ed__qpos_t *x = a, *y = b;
  return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* Appends every position of @p parts and sorts them by partition. */
static int merge_positions(ed_query_result_t *dst, ed_query_result_t *const *parts, size_t n) {
  for (size_t k = 0; k < n; k++)
    for (size_t i = 0; i < parts[k]->npos; i++) {
      ed__qpos_t *p = ed__qres_pos(dst);
      if (p == NULL) return ED_ENOMEM;
      *p = parts[k]->pos[i];
    }
  if (dst->npos > 1) qsort(dst->pos, dst->npos, sizeof *dst->pos, pos_cmp);
  return ED_OK;
}

/* ---- range scan pages ---- */

/* The store key of row @p i of scan page @p res (windowed: key and the
 * start of its one window) into @p out; its length, 0 if it does not fit. */
static size_t store_key(const ed_query_result_t *res, size_t i, ed_store_kind_t kind, uint8_t *out,
                        size_t cap) {
  const ed__qrow_t *r = &res->rows[i];
  const char *k = ed__qres_str(res, r->key);
  if (!is_windowed(kind)) {
    if (r->key.len > cap) return 0;
    memcpy(out, k, r->key.len);
    return r->key.len;
  }
  int64_t start = r->windowed && r->nwin > 0 ? res->wins[r->win0].start : 0;
  return ed_wkey_encode(k, r->key.len, start, out, cap);
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

int ed_query_merge_pages(ed_query_result_t *out, ed_store_kind_t kind,
                         ed_query_result_t *const *pages, size_t n, size_t limit) {
  if (limit == 0) limit = ED_QUERY_DEFAULT_LIMIT;
  ed__qres_reset(out, ED__QRES_ROWS);
  out->scan_windows = is_windowed(kind);
  size_t *at = calloc(n ? n : 1, sizeof *at);
  if (at == NULL) return ed_query_fail(out, 500, "internal", "out of memory");
  int more = 0, rc = ED_OK;
  for (size_t k = 0; k < n; k++)
    if (pages[k]->has_cursor) more = 1;
  uint8_t best[ED_WKEY_MAX], cand[ED_WKEY_MAX], last[ED_WKEY_MAX];
  size_t bestl = 0, lastl = 0, rows = 0;
  for (;;) {
    size_t pick = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
      if (at[k] >= pages[k]->nrows) continue;
      size_t cl = store_key(pages[k], at[k], kind, cand, sizeof cand);
      if (pick == SIZE_MAX || bytes_cmp(cand, cl, best, bestl) < 0) {
        pick = k;
        memcpy(best, cand, cl);
        bestl = cl;
      }
    }
    if (pick == SIZE_MAX) break;
    if (rows == limit) { /* rows remain beyond the page */
      more = 1;
      break;
    }
    if ((rc = copy_row(out, pages[pick], at[pick])) != ED_OK) break;
    memcpy(last, best, bestl);
    lastl = bestl;
    at[pick]++;
    rows++;
  }
  free(at);
  if (rc == ED_OK) rc = merge_positions(out, pages, n);
  if (rc == ED_OK && more && rows > 0) { /* the cursor a local scan would give */
    ed_buf_t c;
    ed_buf_init(&c);
    ed__query_cursor_encode(&c, kind, last, lastl);
    if (ed_buf_failed(&c))
      rc = ED_ENOMEM;
    else {
      out->cursor = ed__qres_bytes(out, c.data, c.len);
      out->has_cursor = 1;
    }
    ed_buf_fini(&c);
  }
  if (rc == ED_OK && out->oom) rc = ED_ENOMEM;
  if (rc != ED_OK) return ed_query_fail(out, 500, "internal", "out of memory");
  return out->status = 200;
}

/* ---- multi-get parts ---- */

int ed_query_merge_multi(ed_query_result_t *out, ed_query_result_t *const *parts, size_t n,
                         const uint32_t *part_of, const uint32_t *row_of, size_t nkeys) {
  ed__qres_reset(out, ED__QRES_MULTI);
  int rc = ED_OK;
  for (size_t i = 0; i < nkeys && rc == ED_OK; i++) {
    if (part_of[i] >= n || row_of[i] >= parts[part_of[i]]->nrows) {
      ed_query_fail(out, 502, "bad_gateway", "a part of the multi-get lacks key %zu", i);
      return 502;
    }
    rc = copy_row(out, parts[part_of[i]], row_of[i]);
  }
  if (rc == ED_OK) rc = merge_positions(out, parts, n);
  if (rc == ED_OK && out->oom) rc = ED_ENOMEM;
  if (rc != ED_OK) return ed_query_fail(out, 500, "internal", "out of memory");
  return out->status = 200;
}

int ed_query_keys_encode_pb(const ed_query_keys_t *keys, const uint32_t *idx, size_t n,
                            ed_buf_t *out) {
  Eddy__V1__MultiGetRequest m = EDDY__V1__MULTI_GET_REQUEST__INIT;
  ProtobufCBinaryData *ks = malloc((n ? n : 1) * sizeof *ks);
  if (ks == NULL) return ED_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t kl = 0;
    const char *k = ed_query_keys_at(keys, idx[i], &kl);
    ks[i].data = (uint8_t *)k;
    ks[i].len = kl;
  }
  m.n_keys = n;
  m.keys = ks;
  size_t sz = protobuf_c_message_get_packed_size(&m.base);
  int rc = ED_OK;
  if (ed_buf_reserve(out, sz + 1) != 0) {
    out->failed = 1;
    rc = ED_ENOMEM;
  } else {
    out->len += protobuf_c_message_pack(&m.base, (uint8_t *)out->data + out->len);
  }
  free(ks);
  return rc;
}
