/* The result model: rows of typed columns, windows, positions or an error,
 * filled by the executions and read by the two encoders. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "query/query.h"
#include "query/query_int.h"
#include "streams/agg.h"

void ed__qres_init(ed_query_result_t *res) {
  memset(res, 0, sizeof *res);
  ed_buf_init(&res->bytes);
  res->key_stream_time = 1;
}

void ed__qres_fini(ed_query_result_t *res) {
  free(res->rows);
  free(res->cols);
  free(res->wins);
  free(res->pos);
  ed_buf_fini(&res->bytes);
  memset(res, 0, sizeof *res);
}

void ed__qres_reset(ed_query_result_t *res, ed__qres_kind_t kind) {
  res->kind = kind;
  res->status = 0;
  res->scan_windows = 0;
  res->key_stream_time = 1;
  res->code[0] = '\0';
  res->message = (ed__qspan_t){0, 0};
  res->has_cursor = 0;
  res->cursor = (ed__qspan_t){0, 0};
  res->engine = NULL;
  res->nrows = res->ncols = res->nwins = res->npos = 0;
  res->oom = 0;
  ed_buf_reset(&res->bytes);
}

ed_query_result_t *ed_query_result_create(void) {
  ed_query_result_t *res = malloc(sizeof *res);
  if (res != NULL) ed__qres_init(res);
  return res;
}

void ed_query_result_destroy(ed_query_result_t *res) {
  if (res == NULL) return;
  ed__qres_fini(res);
  free(res);
}

int ed_query_result_status(const ed_query_result_t *res) { return res->status; }

ed__qspan_t ed__qres_bytes(ed_query_result_t *res, const void *p, size_t len) {
  ed__qspan_t s = {(uint32_t)res->bytes.len, (uint32_t)len};
  if (len > UINT32_MAX || res->bytes.len > UINT32_MAX - len - 1) {
    res->oom = 1;
    return (ed__qspan_t){0, 0};
  }
  if (len > 0) ed_buf_append(&res->bytes, p, len);
  ed_buf_append(&res->bytes, "", 1); /* the NUL */
  if (ed_buf_failed(&res->bytes)) {
    res->oom = 1;
    return (ed__qspan_t){0, 0};
  }
  return s;
}

/* Grows @p *arr (of @p size-byte elements) to hold one more; 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, nc * size);
  if (p == NULL) return -1;
  *arr = p;
  *cap = nc;
  return 0;
}

#define ED__QRES_APPEND(res, arr, n, cap)                                                          \
  do {                                                                                             \
    if (grow((void **)&(res)->arr, &(res)->cap, (res)->n, sizeof *(res)->arr) != 0) {              \
      (res)->oom = 1;                                                                              \
      return NULL;                                                                                 \
    }                                                                                              \
    memset(&(res)->arr[(res)->n], 0, sizeof *(res)->arr);                                          \
    return &(res)->arr[(res)->n++];                                                                \
  } while (0)

ed__qrow_t *ed__qres_row(ed_query_result_t *res) { ED__QRES_APPEND(res, rows, nrows, caprows); }
ed__qwin_t *ed__qres_win(ed_query_result_t *res) { ED__QRES_APPEND(res, wins, nwins, capwins); }
ed__qpos_t *ed__qres_pos(ed_query_result_t *res) { ED__QRES_APPEND(res, pos, npos, cappos); }
ed__qcol_t *ed__qres_col(ed_query_result_t *res) { ED__QRES_APPEND(res, cols, ncols, capcols); }

/* Adds one shown column (an aggregate's result). */
static int add_col(ed_query_result_t *res, const char *name, size_t index, const ed_col_t *c) {
  ed__qcol_t *q = ed__qres_col(res);
  if (q == NULL) return ED_ENOMEM;
  q->name = name;
  q->index = (uint32_t)index;
  q->type = c->type;
  switch (c->type) {
  case ED_COL_INT: q->i = c->v.i; break;
  case ED_COL_DOUBLE: q->d = c->v.d; break;
  case ED_COL_STRING:
  case ED_COL_JSON:
    if (c->type == ED_COL_JSON && c->v.s.len == 0) { /* an empty JSON text: null */
      q->type = ED_COL_NULL;
      break;
    }
    q->s = ed__qres_bytes(res, c->v.s.p, c->v.s.len);
    break;
  case ED_COL_BYTES: /* internal state, never shown */
  case ED_COL_NULL: q->type = ED_COL_NULL; break;
  }
  return res->oom ? ED_ENOMEM : ED_OK;
}

/* State columns the definition's aggregates take. */
static size_t state_width(const ed_view_def_t *def) {
  size_t w = 0;
  for (size_t i = 0; i < def->naggs; i++)
    w += ed_agg_state_width(def->aggs[i].kind);
  return w;
}

int ed__qres_value(ed_query_result_t *res, const ed_view_def_t *def, const ed_col_t *cols,
                   size_t ncols, ed__qvalue_t *value) {
  value->record = 0;
  value->col0 = (uint32_t)res->ncols;
  value->ncols = 0;
  int rc = ED_OK;
  if (def->naggs == 0) { /* undescribed store: every column, by index */
    for (size_t i = 0; i < ncols && rc == ED_OK; i++)
      rc = add_col(res, NULL, i, &cols[i]);
  } else if (ncols != state_width(def)) {
    return ED_EINVAL;
  } else if (ed_view_is_latest(def)) { /* the record itself */
    ed_col_t r;
    ed_agg_result(def->aggs[0].kind, &cols[0], &r);
    value->record = 1;
    rc = add_col(res, NULL, 0, &r);
  } else {
    size_t off = 0;
    for (size_t i = 0; i < def->naggs && rc == ED_OK; i++) {
      const ed_agg_def_t *a = &def->aggs[i];
      ed_col_t r;
      ed_agg_result(a->kind, &cols[off], &r);
      rc = add_col(res, a->column, i, &r);
      off += ed_agg_state_width(a->kind);
    }
  }
  value->ncols = (uint32_t)(res->ncols - value->col0);
  return rc;
}

ed_buf_t *ed__qres_error_begin(ed_query_result_t *res, int status, const char *code) {
  ed__qres_reset(res, ED__QRES_ERROR);
  res->status = status;
  snprintf(res->code, sizeof res->code, "%s", code);
  /* the message is built at the end of bytes, then spanned */
  return &res->bytes;
}

int ed__qres_error_end(ed_query_result_t *res, ed_buf_t *msg) {
  (void)msg; /* the message was appended to res->bytes from offset 0 */
  if (ed_buf_failed(&res->bytes)) {
    res->oom = 1;
    return res->status;
  }
  size_t len = res->bytes.len;
  ed_buf_append(&res->bytes, "", 1);
  res->message = (ed__qspan_t){0, (uint32_t)len};
  if (ed_buf_failed(&res->bytes)) res->oom = 1;
  return res->status;
}

int ed_query_fail(ed_query_result_t *res, int status, const char *code, const char *fmt, ...) {
  ed_buf_t *m = ed__qres_error_begin(res, status, code);
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n > 0 && (size_t)n < sizeof small) {
    ed_buf_append(m, small, (size_t)n);
  } else if (n > 0) {
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
      ed_buf_append(m, small, sizeof small - 1); /* keep what fits */
    } else {
      va_start(ap, fmt);
      vsnprintf(big, (size_t)n + 1, fmt, ap);
      va_end(ap);
      ed_buf_append(m, big, (size_t)n);
      free(big);
    }
  }
  return ed__qres_error_end(res, m);
}

void ed__query_read_pos(ed_store_read_t *r, const ed_view_def_t *def, int32_t partition,
                        ed__qpos_t *pos) {
  pos->partition = partition;
  pos->offset = 0;
  int64_t v = 0;
  int found = 0;
  if (def->from != NULL) {
    char name[512];
    size_t n = strlen(def->from);
    if (n + 8 <= sizeof name) {
      memcpy(name, "offset/", 7);
      memcpy(name + 7, def->from, n + 1);
      if (ed_store_read_meta(r, name, &v) == ED_OK) found = 1;
    }
  }
  if (!found && ed_store_read_meta(r, ED_STORE_META_OFFSET, &v) == ED_OK) found = 1;
  if (found) pos->offset = v;
  int64_t st = 0;
  pos->has_stream_time = 0;
  pos->stream_time = 0;
  if (ed_store_read_meta(r, ED_STORE_META_STREAM_TIME, &st) == ED_OK &&
      st != INT64_MIN) { /* INT64_MIN: no record seen yet */
    pos->has_stream_time = 1;
    pos->stream_time = st;
  }
}
