/* The JSON encoding of a result (the shapes of DESIGN.md's HTTP API). */
#include <string.h>

#include "common/err.h"
#include "query/query_int.h"

static void put_span(ed_buf_t *out, const ed_query_result_t *res, ed__qspan_t s) {
  ed_buf_append_json_string(out, ed__qres_str(res, s), s.len);
}

static void put_col(ed_buf_t *out, const ed_query_result_t *res, const ed__qcol_t *c) {
  switch (c->type) {
  case ED_COL_INT: ed_buf_append_i64(out, c->i); return;
  case ED_COL_DOUBLE: ed_buf_append_double(out, c->d); return;
  case ED_COL_STRING: put_span(out, res, c->s); return;
  case ED_COL_JSON: ed_buf_append(out, ed__qres_str(res, c->s), c->s.len); return;
  case ED_COL_BYTES:
  case ED_COL_NULL: break;
  }
  ed_buf_puts(out, "null");
}

static void put_value(ed_buf_t *out, const ed_query_result_t *res, const ed__qvalue_t *v) {
  if (v->record) {
    if (v->ncols == 1)
      put_col(out, res, &res->cols[v->col0]);
    else
      ed_buf_puts(out, "null");
    return;
  }
  ed_buf_putc(out, '{');
  for (uint32_t i = 0; i < v->ncols; i++) {
    const ed__qcol_t *c = &res->cols[v->col0 + i];
    if (i > 0) ed_buf_putc(out, ',');
    if (c->name != NULL)
      ed_buf_append_json_string(out, c->name, strlen(c->name));
    else
      ed_buf_printf(out, "\"col%u\"", (unsigned)c->index);
    ed_buf_putc(out, ':');
    put_col(out, res, c);
  }
  ed_buf_putc(out, '}');
}

static void put_window(ed_buf_t *out, const ed_query_result_t *res, const ed__qwin_t *w) {
  ed_buf_puts(out, "{\"start\":");
  ed_buf_append_i64(out, w->start);
  ed_buf_puts(out, ",\"end\":");
  ed_buf_append_i64(out, w->end);
  ed_buf_puts(out, ",\"value\":");
  put_value(out, res, &w->value);
  ed_buf_putc(out, '}');
}

/* "value":{..} or "windows":[..] (after the key, with its comma). */
static void put_row_body(ed_buf_t *out, const ed_query_result_t *res, const ed__qrow_t *r) {
  if (!r->windowed) {
    ed_buf_puts(out, ",\"value\":");
    put_value(out, res, &r->value);
    return;
  }
  ed_buf_puts(out, ",\"windows\":[");
  for (uint32_t i = 0; i < r->nwin; i++) {
    if (i > 0) ed_buf_putc(out, ',');
    put_window(out, res, &res->wins[r->win0 + i]);
  }
  ed_buf_putc(out, ']');
}

static void put_positions(ed_buf_t *out, const ed_query_result_t *res) {
  ed_buf_puts(out, "\"positions\":[");
  for (size_t i = 0; i < res->npos; i++) {
    const ed__qpos_t *p = &res->pos[i];
    if (i > 0) ed_buf_putc(out, ',');
    ed_buf_puts(out, "{\"partition\":");
    ed_buf_append_i64(out, p->partition);
    ed_buf_puts(out, ",\"offset\":");
    ed_buf_append_i64(out, p->offset);
    if (p->has_stream_time) {
      ed_buf_puts(out, ",\"stream_time\":");
      ed_buf_append_i64(out, p->stream_time);
    }
    ed_buf_putc(out, '}');
  }
  ed_buf_putc(out, ']');
}

static void encode_key(ed_buf_t *out, const ed_query_result_t *res) {
  const ed__qrow_t *r = &res->rows[0];
  const ed__qpos_t *p = &res->pos[0];
  ed_buf_puts(out, "{\"key\":");
  put_span(out, res, r->key);
  put_row_body(out, res, r);
  ed_buf_puts(out, ",\"partition\":");
  ed_buf_append_i64(out, p->partition);
  ed_buf_puts(out, ",\"offset\":");
  ed_buf_append_i64(out, p->offset);
  if (p->has_stream_time && (r->windowed || res->key_stream_time)) {
    ed_buf_puts(out, ",\"stream_time\":");
    ed_buf_append_i64(out, p->stream_time);
  }
  ed_buf_putc(out, '}');
}

static void encode_rows(ed_buf_t *out, const ed_query_result_t *res) {
  ed_buf_puts(out, "{\"rows\":[");
  for (size_t i = 0; i < res->nrows; i++) {
    const ed__qrow_t *r = &res->rows[i];
    if (i > 0) ed_buf_putc(out, ',');
    ed_buf_puts(out, "{\"key\":");
    put_span(out, res, r->key);
    if (res->scan_windows && r->windowed && r->nwin == 1) { /* flat (key, window) row */
      const ed__qwin_t *w = &res->wins[r->win0];
      ed_buf_puts(out, ",\"start\":");
      ed_buf_append_i64(out, w->start);
      ed_buf_puts(out, ",\"end\":");
      ed_buf_append_i64(out, w->end);
      ed_buf_puts(out, ",\"value\":");
      put_value(out, res, &w->value);
    } else {
      put_row_body(out, res, r);
    }
    ed_buf_putc(out, '}');
  }
  ed_buf_putc(out, ']');
  if (res->has_cursor) {
    ed_buf_puts(out, ",\"next_cursor\":");
    put_span(out, res, res->cursor);
  }
  ed_buf_putc(out, ',');
  put_positions(out, res);
  ed_buf_putc(out, '}');
}

static void encode_multi(ed_buf_t *out, const ed_query_result_t *res) {
  ed_buf_puts(out, "{\"rows\":[");
  for (size_t i = 0; i < res->nrows; i++) {
    const ed__qrow_t *r = &res->rows[i];
    if (i > 0) ed_buf_putc(out, ',');
    ed_buf_puts(out, "{\"key\":");
    put_span(out, res, r->key);
    if (r->missing)
      ed_buf_puts(out, ",\"missing\":true");
    else
      put_row_body(out, res, r);
    ed_buf_puts(out, ",\"partition\":");
    ed_buf_append_i64(out, r->partition);
    ed_buf_putc(out, '}');
  }
  ed_buf_puts(out, "],");
  put_positions(out, res);
  ed_buf_putc(out, '}');
}

int ed__query_encode_json(const ed_query_result_t *res, ed_buf_t *out) {
  switch (res->kind) {
  case ED__QRES_ERROR:
    ed__query_error_raw(out, res->status, res->code, ed__qres_str(res, res->message),
                        res->message.len);
    break;
  case ED__QRES_VIEWS: /* views.c, through ed_query_encode */ return ED_EINVAL;
  case ED__QRES_KEY:
    if (res->nrows != 1 || res->npos != 1) return ED_EINVAL;
    encode_key(out, res);
    break;
  case ED__QRES_ROWS: encode_rows(out, res); break;
  case ED__QRES_MULTI: encode_multi(out, res); break;
  case ED__QRES_NONE: return ED_EINVAL;
  }
  return ed_buf_failed(out) ? ED_ENOMEM : ED_OK;
}
