/* The protobuf encoding of a result: the messages of proto/eddy.proto,
 * built with protobuf-c over the result's memory (strings are the result's
 * NUL-terminated spans) and packed into the output buffer. The message
 * structs live in a per-call arena freed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/eddy.pb-c.h"
#include "query/query_int.h"

/* ---- a bump arena of malloc'd chunks ---- */

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
} chunk_t;

typedef struct {
  chunk_t *head;
  int failed;
} arena_t;

static void *arena_alloc(arena_t *a, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (a->head == NULL || a->head->cap - a->head->used < n) {
    size_t cap = n > 32768 ? n : 32768;
    chunk_t *c = malloc(sizeof *c + cap);
    if (c == NULL) {
      a->failed = 1;
      return NULL;
    }
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = (char *)a->head->data + a->head->used;
  a->head->used += n;
  return p;
}

static void arena_free(arena_t *a) {
  while (a->head != NULL) {
    chunk_t *n = a->head->next;
    free(a->head);
    a->head = n;
  }
}

/* new_<type>(arena): one message struct, initialized. */
#define DEFINE_NEW(fn, T, INIT)                                                                    \
  static T *fn(arena_t *a) {                                                                       \
    T *p = arena_alloc(a, sizeof(T));                                                              \
    if (p != NULL) {                                                                               \
      T init = INIT;                                                                               \
      *p = init;                                                                                   \
    }                                                                                              \
    return p;                                                                                      \
  }
DEFINE_NEW(new_value, Eddy__V1__Value, EDDY__V1__VALUE__INIT)
DEFINE_NEW(new_column, Eddy__V1__Column, EDDY__V1__COLUMN__INIT)
DEFINE_NEW(new_window, Eddy__V1__Window, EDDY__V1__WINDOW__INIT)
DEFINE_NEW(new_row, Eddy__V1__Row, EDDY__V1__ROW__INIT)
DEFINE_NEW(new_position, Eddy__V1__Position, EDDY__V1__POSITION__INIT)

static char *span_str(const ed_query_result_t *res, ed__qspan_t s) {
  return (char *)ed__qres_str(res, s);
}

/* ---- building messages ---- */

static Eddy__V1__Value *make_value(arena_t *a, const ed_query_result_t *res,
                                   const ed__qvalue_t *v) {
  Eddy__V1__Value *pv = new_value(a);
  if (pv == NULL) return NULL;
  pv->record = v->record != 0;
  pv->n_columns = v->ncols;
  pv->columns = arena_alloc(a, (v->ncols ? v->ncols : 1) * sizeof *pv->columns);
  if (pv->columns == NULL) return NULL;
  for (uint32_t i = 0; i < v->ncols; i++) {
    const ed__qcol_t *c = &res->cols[v->col0 + i];
    Eddy__V1__Column *pc = new_column(a);
    if (pc == NULL) return NULL;
    if (c->name != NULL) {
      pc->name = (char *)c->name;
    } else if (!v->record) {
      char *name = arena_alloc(a, 16);
      if (name == NULL) return NULL;
      snprintf(name, 16, "col%u", (unsigned)c->index);
      pc->name = name;
    }
    switch (c->type) {
    case ED_COL_INT:
      pc->value_case = EDDY__V1__COLUMN__VALUE_INT_VALUE;
      pc->int_value = c->i;
      break;
    case ED_COL_DOUBLE:
      pc->value_case = EDDY__V1__COLUMN__VALUE_DOUBLE_VALUE;
      pc->double_value = c->d;
      break;
    case ED_COL_STRING:
      pc->value_case = EDDY__V1__COLUMN__VALUE_STRING_VALUE;
      pc->string_value = span_str(res, c->s);
      break;
    case ED_COL_JSON:
      pc->value_case = EDDY__V1__COLUMN__VALUE_JSON_VALUE;
      pc->json_value = span_str(res, c->s);
      break;
    case ED_COL_BYTES:
    case ED_COL_NULL:
      pc->value_case = EDDY__V1__COLUMN__VALUE_NULL_VALUE;
      pc->null_value = 1;
      break;
    }
    pv->columns[i] = pc;
  }
  return pv;
}

static Eddy__V1__Window *make_window(arena_t *a, const ed_query_result_t *res,
                                     const ed__qwin_t *w) {
  Eddy__V1__Window *pw = new_window(a);
  if (pw == NULL) return NULL;
  pw->start = w->start;
  pw->end = w->end;
  pw->value = make_value(a, res, &w->value);
  return pw->value ? pw : NULL;
}

/* A row without its position fields. */
static Eddy__V1__Row *make_row(arena_t *a, const ed_query_result_t *res, const ed__qrow_t *r) {
  Eddy__V1__Row *pr = new_row(a);
  if (pr == NULL) return NULL;
  pr->key.data = (uint8_t *)span_str(res, r->key);
  pr->key.len = r->key.len;
  if (r->missing) {
    pr->missing = 1;
    return pr;
  }
  if (!r->windowed) {
    pr->value = make_value(a, res, &r->value);
    return pr->value ? pr : NULL;
  }
  pr->n_windows = r->nwin;
  pr->windows = arena_alloc(a, (r->nwin ? r->nwin : 1) * sizeof *pr->windows);
  if (pr->windows == NULL) return NULL;
  for (uint32_t i = 0; i < r->nwin; i++)
    if ((pr->windows[i] = make_window(a, res, &res->wins[r->win0 + i])) == NULL) return NULL;
  return pr;
}

static Eddy__V1__Position **make_positions(arena_t *a, const ed_query_result_t *res) {
  Eddy__V1__Position **ps = arena_alloc(a, (res->npos ? res->npos : 1) * sizeof *ps);
  if (ps == NULL) return NULL;
  for (size_t i = 0; i < res->npos; i++) {
    const ed__qpos_t *p = &res->pos[i];
    Eddy__V1__Position *pp = new_position(a);
    if (pp == NULL) return NULL;
    pp->partition = p->partition;
    pp->offset = p->offset;
    pp->has_stream_time = p->has_stream_time != 0;
    pp->stream_time = p->has_stream_time ? p->stream_time : 0;
    ps[i] = pp;
  }
  return ps;
}

static Eddy__V1__Row **make_rows(arena_t *a, const ed_query_result_t *res) {
  Eddy__V1__Row **rows = arena_alloc(a, (res->nrows ? res->nrows : 1) * sizeof *rows);
  if (rows == NULL) return NULL;
  for (size_t i = 0; i < res->nrows; i++)
    if ((rows[i] = make_row(a, res, &res->rows[i])) == NULL) return NULL;
  return rows;
}

/* Packs @p msg at the end of @p out. */
static int pack(const ProtobufCMessage *msg, ed_buf_t *out) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  if (ed_buf_reserve(out, n + 1) != 0) {
    out->failed = 1;
    return ED_ENOMEM;
  }
  size_t w = protobuf_c_message_pack(msg, (uint8_t *)out->data + out->len);
  out->len += w;
  out->data[out->len] = '\0';
  return ED_OK;
}

int ed__query_error_pb(ed_buf_t *out, const char *code, const char *msg) {
  Eddy__V1__Error e = EDDY__V1__ERROR__INIT;
  e.code = (char *)code;
  e.message = (char *)msg;
  return pack(&e.base, out);
}

int ed__query_timeout_pb(ed_buf_t *out, const char *msg, const ed_query_position_t *pos,
                         size_t n) {
  Eddy__V1__Error e = EDDY__V1__ERROR__INIT;
  e.code = (char *)"timeout";
  e.message = (char *)msg;
  Eddy__V1__Position *ps = calloc(n + 1, sizeof *ps);
  Eddy__V1__Position **pp = calloc(n + 1, sizeof *pp);
  if (ps == NULL || pp == NULL) {
    free(ps);
    free(pp);
    out->failed = 1;
    return ED_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    eddy__v1__position__init(&ps[i]);
    ps[i].partition = pos[i].partition;
    ps[i].offset = pos[i].offset;
    ps[i].has_stream_time = pos[i].stream_time != INT64_MIN;
    ps[i].stream_time = ps[i].has_stream_time ? pos[i].stream_time : 0;
    pp[i] = &ps[i];
  }
  e.n_positions = n;
  e.positions = pp;
  int rc = pack(&e.base, out);
  free(ps);
  free(pp);
  return rc;
}

int ed__query_encode_pb(const ed_query_result_t *res, ed_buf_t *out) {
  arena_t a = {0};
  int rc = ED_OK;
  switch (res->kind) {
  case ED__QRES_ERROR:
    rc = ed__query_error_pb(out, res->code, ed__qres_str(res, res->message));
    break;
  case ED__QRES_VIEWS: /* views.c, through ed_query_encode */ rc = ED_EINVAL; break;
  case ED__QRES_KEY: {
    if (res->nrows != 1 || res->npos != 1) return ED_EINVAL;
    Eddy__V1__Row *r = make_row(&a, res, &res->rows[0]);
    if (r == NULL) {
      rc = ED_ENOMEM;
      break;
    }
    const ed__qpos_t *p = &res->pos[0];
    r->partition = p->partition;
    r->offset = p->offset;
    if (p->has_stream_time && (res->rows[0].windowed || res->key_stream_time)) {
      r->has_stream_time = 1;
      r->stream_time = p->stream_time;
    }
    rc = pack(&r->base, out);
    break;
  }
  case ED__QRES_ROWS: {
    Eddy__V1__RowList l = EDDY__V1__ROW_LIST__INIT;
    l.n_rows = res->nrows;
    l.rows = make_rows(&a, res);
    l.n_positions = res->npos;
    l.positions = make_positions(&a, res);
    if (res->has_cursor) l.next_cursor = span_str(res, res->cursor);
    rc = l.rows && l.positions ? pack(&l.base, out) : ED_ENOMEM;
    break;
  }
  case ED__QRES_MULTI: {
    Eddy__V1__MultiGetAnswer m = EDDY__V1__MULTI_GET_ANSWER__INIT;
    m.n_rows = res->nrows;
    m.rows = make_rows(&a, res);
    m.n_positions = res->npos;
    m.positions = make_positions(&a, res);
    if (m.rows != NULL)
      for (size_t i = 0; i < res->nrows; i++)
        m.rows[i]->partition = res->rows[i].partition;
    rc = m.rows && m.positions ? pack(&m.base, out) : ED_ENOMEM;
    break;
  }
  case ED__QRES_NONE: rc = ED_EINVAL; break;
  }
  arena_free(&a);
  return rc;
}
