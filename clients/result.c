/* libeddy's result objects: rows, multi-get rows, windows and views, decoded
 * from the protobuf answers, with typed column access (no JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* ---- errors ---- */

const char *eddy_err_str(int err) {
  switch (err) {
#define EDDY__ERR_STR(name, value, msg)                                                            \
  case value:                                                                                      \
    return msg;
    EDDY_ERRNO_MAP(EDDY__ERR_STR)
#undef EDDY__ERR_STR
  }
  return "unknown error";
}

int eddy__error_from_code(const char *code) {
  static const struct {
    const char *code;
    int err;
  } map[] = {
      {"not_found", EDDY_ERR_NOT_FOUND},     {"bad_request", EDDY_ERR_BAD_REQUEST},
      {"too_large", EDDY_ERR_BAD_REQUEST},   {"method_not_allowed", EDDY_ERR_BAD_REQUEST},
      {"unavailable", EDDY_ERR_UNAVAILABLE}, {"timeout", EDDY_ERR_TIMEOUT},
      {"internal", EDDY_ERR_SERVER},
  };
  if (code == NULL) return 0;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(code, map[i].code) == 0) return map[i].err;
  return 0;
}

static int error_from_status(long status) {
  switch (status) {
  case 404:
    return EDDY_ERR_NOT_FOUND;
  case 400:
  case 405:
  case 413:
    return EDDY_ERR_BAD_REQUEST;
  case 503:
    return EDDY_ERR_UNAVAILABLE;
  case 504:
    return EDDY_ERR_TIMEOUT;
  default:
    return status >= 500 ? EDDY_ERR_SERVER : EDDY_ERR_PROTOCOL;
  }
}

int eddy__error_from_answer(long status, const uint8_t *body, size_t len, int is_pb, char *msg,
                            size_t cap) {
  int err = 0;
  Eddy__V1__Error *e = NULL;
  if (is_pb && body != NULL) e = eddy__v1__error__unpack(NULL, len, body);
  if (e != NULL) {
    err = eddy__error_from_code(e->code);
    if (cap > 0) snprintf(msg, cap, "HTTP %ld %s: %s", status, e->code, e->message);
    eddy__v1__error__free_unpacked(e, NULL);
  } else if (cap > 0) {
    snprintf(msg, cap, "HTTP %ld%s", status, is_pb ? " (undecodable error body)" : "");
  }
  if (err == 0) err = error_from_status(status);
  return err;
}

/* ---- rows ---- */

void eddy__row_init(eddy_row_t *r, const Eddy__V1__Row *msg, const Eddy__V1__Value *value,
                    int with_position) {
  memset(r, 0, sizeof *r);
  r->msg = msg;
  r->value = value;
  r->partition = with_position >= 1 ? msg->partition : -1;
  r->offset = with_position >= 2 ? msg->offset : -1;
}

int eddy__decode_row(const uint8_t *b, size_t n, eddy_row_t **out) {
  *out = NULL;
  Eddy__V1__Row *m = eddy__v1__row__unpack(NULL, n, b);
  if (m == NULL) return EDDY_ERR_PROTOCOL;
  eddy_row_t *r = malloc(sizeof *r);
  if (r == NULL) {
    eddy__v1__row__free_unpacked(m, NULL);
    return EDDY_ERR_NOMEM;
  }
  eddy__row_init(r, m, m->value, 2);
  r->owned = m;
  *out = r;
  return EDDY_OK;
}

void eddy_row_destroy(eddy_row_t *r) {
  if (r == NULL || r->owned == NULL) return; /* a borrowed row is not ours to free */
  eddy__v1__row__free_unpacked(r->owned, NULL);
  free(r);
}

int eddy_row_found(const eddy_row_t *r) { return r != NULL && !r->msg->missing; }

const void *eddy_row_key(const eddy_row_t *r, size_t *len) {
  if (len) *len = r->msg->key.len;
  return r->msg->key.data ? (const void *)r->msg->key.data : (const void *)"";
}

int32_t eddy_row_partition(const eddy_row_t *r) { return r->partition; }
int64_t eddy_row_offset(const eddy_row_t *r) { return r->offset; }

size_t eddy_row_ncolumns(const eddy_row_t *r) { return r->value ? r->value->n_columns : 0; }

static const Eddy__V1__Column *col(const eddy_row_t *r, size_t i) {
  if (r == NULL || r->value == NULL || i >= r->value->n_columns) return NULL;
  return r->value->columns[i];
}

const char *eddy_row_column_name(const eddy_row_t *r, size_t i) {
  const Eddy__V1__Column *c = col(r, i);
  return c ? c->name : NULL;
}

int eddy_row_column_index(const eddy_row_t *r, const char *name) {
  for (size_t i = 0; i < eddy_row_ncolumns(r); i++)
    if (strcmp(r->value->columns[i]->name, name) == 0) return (int)i;
  return -1;
}

eddy_type_t eddy_row_column_type(const eddy_row_t *r, size_t i) {
  const Eddy__V1__Column *c = col(r, i);
  if (c == NULL) return EDDY_TYPE_NULL;
  switch (c->value_case) {
  case EDDY__V1__COLUMN__VALUE_INT_VALUE:
    return EDDY_TYPE_INT;
  case EDDY__V1__COLUMN__VALUE_DOUBLE_VALUE:
    return EDDY_TYPE_DOUBLE;
  case EDDY__V1__COLUMN__VALUE_STRING_VALUE:
    return EDDY_TYPE_STRING;
  case EDDY__V1__COLUMN__VALUE_JSON_VALUE:
    return EDDY_TYPE_JSON;
  default:
    return EDDY_TYPE_NULL;
  }
}

int eddy_row_int(const eddy_row_t *r, size_t i, int64_t *out) {
  const Eddy__V1__Column *c = col(r, i);
  if (c == NULL || c->value_case != EDDY__V1__COLUMN__VALUE_INT_VALUE) return EDDY_ERR_INVALID;
  *out = c->int_value;
  return EDDY_OK;
}

int eddy_row_double(const eddy_row_t *r, size_t i, double *out) {
  const Eddy__V1__Column *c = col(r, i);
  if (c == NULL) return EDDY_ERR_INVALID;
  if (c->value_case == EDDY__V1__COLUMN__VALUE_DOUBLE_VALUE)
    *out = c->double_value;
  else if (c->value_case == EDDY__V1__COLUMN__VALUE_INT_VALUE)
    *out = (double)c->int_value;
  else
    return EDDY_ERR_INVALID;
  return EDDY_OK;
}

const char *eddy_row_string(const eddy_row_t *r, size_t i) {
  const Eddy__V1__Column *c = col(r, i);
  if (c == NULL) return NULL;
  if (c->value_case == EDDY__V1__COLUMN__VALUE_STRING_VALUE) return c->string_value;
  if (c->value_case == EDDY__V1__COLUMN__VALUE_JSON_VALUE) return c->json_value;
  return NULL;
}

/* ---- multi-get ---- */

int eddy__decode_rows(const uint8_t *b, size_t n, eddy_rows_t **out) {
  *out = NULL;
  Eddy__V1__MultiGetAnswer *m = eddy__v1__multi_get_answer__unpack(NULL, n, b);
  if (m == NULL) return EDDY_ERR_PROTOCOL;
  eddy_rows_t *rs = calloc(1, sizeof *rs);
  if (rs) rs->rows = calloc(m->n_rows ? m->n_rows : 1, sizeof *rs->rows);
  if (rs == NULL || rs->rows == NULL) {
    free(rs);
    eddy__v1__multi_get_answer__free_unpacked(m, NULL);
    return EDDY_ERR_NOMEM;
  }
  rs->msg = m;
  rs->n = m->n_rows;
  for (size_t i = 0; i < m->n_rows; i++)
    eddy__row_init(&rs->rows[i], m->rows[i], m->rows[i]->value, 1);
  *out = rs;
  return EDDY_OK;
}

size_t eddy_rows_count(const eddy_rows_t *rs) { return rs ? rs->n : 0; }

const eddy_row_t *eddy_rows_at(const eddy_rows_t *rs, size_t i) {
  return rs && i < rs->n ? &rs->rows[i] : NULL;
}

void eddy_rows_destroy(eddy_rows_t *rs) {
  if (rs == NULL) return;
  eddy__v1__multi_get_answer__free_unpacked(rs->msg, NULL);
  free(rs->rows);
  free(rs);
}

/* ---- windows ---- */

int eddy__decode_windows(const uint8_t *b, size_t n, eddy_windows_t **out) {
  *out = NULL;
  Eddy__V1__Row *m = eddy__v1__row__unpack(NULL, n, b);
  if (m == NULL) return EDDY_ERR_PROTOCOL;
  eddy_windows_t *w = calloc(1, sizeof *w);
  if (w) w->rows = calloc(m->n_windows ? m->n_windows : 1, sizeof *w->rows);
  if (w == NULL || w->rows == NULL) {
    free(w);
    eddy__v1__row__free_unpacked(m, NULL);
    return EDDY_ERR_NOMEM;
  }
  w->msg = m;
  w->n = m->n_windows;
  for (size_t i = 0; i < m->n_windows; i++)
    eddy__row_init(&w->rows[i], m, m->windows[i]->value, 2);
  *out = w;
  return EDDY_OK;
}

size_t eddy_windows_count(const eddy_windows_t *w) { return w ? w->n : 0; }
int64_t eddy_windows_start(const eddy_windows_t *w, size_t i) {
  return i < w->n ? w->msg->windows[i]->start : 0;
}
int64_t eddy_windows_end(const eddy_windows_t *w, size_t i) {
  return i < w->n ? w->msg->windows[i]->end : 0;
}
const eddy_row_t *eddy_windows_value(const eddy_windows_t *w, size_t i) {
  return w && i < w->n ? &w->rows[i] : NULL;
}
int32_t eddy_windows_partition(const eddy_windows_t *w) { return w->msg->partition; }
int64_t eddy_windows_offset(const eddy_windows_t *w) { return w->msg->offset; }

void eddy_windows_destroy(eddy_windows_t *w) {
  if (w == NULL) return;
  eddy__v1__row__free_unpacked(w->msg, NULL);
  free(w->rows);
  free(w);
}

/* ---- views ---- */

int eddy__decode_views(const uint8_t *b, size_t n, eddy_views_t **out) {
  *out = NULL;
  Eddy__V1__ViewList *m = eddy__v1__view_list__unpack(NULL, n, b);
  if (m == NULL) return EDDY_ERR_PROTOCOL;
  eddy_views_t *v = malloc(sizeof *v);
  if (v == NULL) {
    eddy__v1__view_list__free_unpacked(m, NULL);
    return EDDY_ERR_NOMEM;
  }
  v->msg = m;
  *out = v;
  return EDDY_OK;
}

size_t eddy_views_count(const eddy_views_t *v) { return v ? v->msg->n_views : 0; }
const char *eddy_views_name(const eddy_views_t *v, size_t i) {
  return i < eddy_views_count(v) ? v->msg->views[i]->name : NULL;
}
const char *eddy_views_kind(const eddy_views_t *v, size_t i) {
  return i < eddy_views_count(v) ? v->msg->views[i]->kind : NULL;
}
const char *eddy_views_from(const eddy_views_t *v, size_t i) {
  return i < eddy_views_count(v) ? v->msg->views[i]->from : NULL;
}
int32_t eddy_views_partitions(const eddy_views_t *v, size_t i) {
  return i < eddy_views_count(v) ? v->msg->views[i]->partitions : 0;
}

void eddy_views_destroy(eddy_views_t *v) {
  if (v == NULL) return;
  eddy__v1__view_list__free_unpacked(v->msg, NULL);
  free(v);
}
