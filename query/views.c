/* GET /v1/views: the view definitions this instance serves, as JSON or as
 * a ViewList. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/eddy.pb-c.h"
#include "query/query.h"
#include "query/query_int.h"

static void put_str(ed_buf_t *out, const char *s) {
  if (s == NULL)
    ed_buf_puts(out, "null");
  else
    ed_buf_append_json_string(out, s, strlen(s));
}

static void put_ms(ed_buf_t *out, const char *name, int64_t v) {
  ed_buf_puts(out, ",\"");
  ed_buf_puts(out, name);
  ed_buf_puts(out, "\":");
  ed_buf_append_i64(out, v);
}

static void put_window(ed_buf_t *out, const ed_window_spec_t *w) {
  if (w->type == ED_WIN_NONE) {
    ed_buf_puts(out, "null");
    return;
  }
  ed_buf_puts(out, "{\"type\":");
  put_str(out, ed_win_type_name(w->type));
  if (w->type == ED_WIN_SESSION) {
    put_ms(out, "gap_ms", w->gap);
  } else {
    put_ms(out, "size_ms", w->size);
    if (w->type == ED_WIN_HOPPING) put_ms(out, "advance_ms", w->advance);
  }
  put_ms(out, "grace_ms", w->grace);
  put_ms(out, "retention_ms", w->retention);
  ed_buf_putc(out, '}');
}

static const char *kind_name(ed_view_t *v) {
  switch (ed_view_kind(v)) {
  case ED_STORE_KIND_WINDOWED: return "windowed";
  case ED_STORE_KIND_SESSION: return "session";
  case ED_STORE_KIND_KV: break;
  }
  return ed_view_is_latest(ed_view_def(v)) ? "latest" : "table";
}

static void put_view(ed_buf_t *out, ed_view_t *v) {
  const ed_view_def_t *def = ed_view_def(v);
  ed_buf_puts(out, "{\"name\":");
  put_str(out, def->name);
  ed_buf_puts(out, ",\"from\":");
  put_str(out, def->from);
  ed_buf_puts(out, ",\"format\":");
  put_str(out, ed_format_name(def->format));
  ed_buf_puts(out, ",\"key\":");
  put_str(out, def->key);
  ed_buf_puts(out, ",\"where\":");
  put_str(out, def->where);
  ed_buf_puts(out, ",\"timestamp\":");
  put_str(out, def->timestamp);
  ed_buf_puts(out, ",\"aggregates\":[");
  for (size_t i = 0; i < def->naggs; i++) {
    const ed_agg_def_t *a = &def->aggs[i];
    if (i > 0) ed_buf_putc(out, ',');
    ed_buf_puts(out, "{\"column\":");
    put_str(out, a->column);
    ed_buf_puts(out, ",\"function\":");
    put_str(out, ed_agg_kind_name(a->kind));
    if (a->arg != NULL) {
      ed_buf_puts(out, ",\"arg\":");
      put_str(out, a->arg);
    }
    ed_buf_puts(out, ",\"type\":");
    put_str(out, ed_agg_result_type(a->kind));
    ed_buf_putc(out, '}');
  }
  ed_buf_puts(out, "],\"window\":");
  put_window(out, &def->window);
  ed_buf_puts(out, ",\"to\":");
  put_str(out, def->to);
  ed_buf_puts(out, ",\"on_error\":");
  put_str(out, ed_on_error_name(def->on_error));
  ed_buf_puts(out, ",\"partitions\":");
  ed_buf_append_i64(out, ed_view_partition_count(v));
  ed_buf_puts(out, ",\"kind\":");
  put_str(out, kind_name(v));
  ed_buf_putc(out, '}');
}

void ed__query_views_json(ed_engine_t *e, ed_buf_t *out) {
  ed_buf_puts(out, "{\"views\":[");
  size_t n = ed_engine_view_count(e);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) ed_buf_putc(out, ',');
    put_view(out, ed_engine_view_at(e, i));
  }
  ed_buf_puts(out, "]}");
}

static char *pstr(const char *s) { return s != NULL ? (char *)s : (char *)protobuf_c_empty_string; }

int ed__query_views_pb(ed_engine_t *e, ed_buf_t *out) {
  size_t n = ed_engine_view_count(e), naggs = 0;
  for (size_t i = 0; i < n; i++)
    naggs += ed_view_def(ed_engine_view_at(e, i))->naggs;
  /* one allocation for every struct of the message */
  size_t size =
      n * (sizeof(Eddy__V1__View) + sizeof(Eddy__V1__View *) + sizeof(Eddy__V1__WindowSpec)) +
      naggs * (sizeof(Eddy__V1__Aggregate) + sizeof(Eddy__V1__Aggregate *));
  char *mem = malloc(size ? size : 1);
  if (mem == NULL) return ED_ENOMEM;
  Eddy__V1__View **views = (Eddy__V1__View **)mem;
  Eddy__V1__Aggregate **aggp = (Eddy__V1__Aggregate **)(views + n);
  Eddy__V1__View *vs = (Eddy__V1__View *)(void *)(aggp + naggs);
  Eddy__V1__WindowSpec *ws = (Eddy__V1__WindowSpec *)(vs + n);
  Eddy__V1__Aggregate *as = (Eddy__V1__Aggregate *)(ws + n);
  for (size_t i = 0; i < n; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    const ed_view_def_t *def = ed_view_def(v);
    Eddy__V1__View pv = EDDY__V1__VIEW__INIT;
    pv.name = pstr(def->name);
    pv.from = pstr(def->from);
    pv.format = pstr(ed_format_name(def->format));
    pv.key = pstr(def->key);
    pv.where = pstr(def->where);
    pv.timestamp = pstr(def->timestamp);
    pv.to = pstr(def->to);
    pv.on_error = pstr(ed_on_error_name(def->on_error));
    pv.kind = pstr(kind_name(v));
    pv.partitions = ed_view_partition_count(v);
    pv.n_aggregates = def->naggs;
    pv.aggregates = aggp;
    for (size_t j = 0; j < def->naggs; j++) {
      const ed_agg_def_t *a = &def->aggs[j];
      Eddy__V1__Aggregate pa = EDDY__V1__AGGREGATE__INIT;
      pa.column = pstr(a->column);
      pa.function = pstr(ed_agg_kind_name(a->kind));
      pa.field = pstr(a->arg);
      pa.type = pstr(ed_agg_result_type(a->kind));
      *as = pa;
      *aggp++ = as++;
    }
    const ed_window_spec_t *w = &def->window;
    if (w->type != ED_WIN_NONE) {
      Eddy__V1__WindowSpec pw = EDDY__V1__WINDOW_SPEC__INIT;
      pw.type = pstr(ed_win_type_name(w->type));
      if (w->type == ED_WIN_SESSION) {
        pw.gap_ms = w->gap;
      } else {
        pw.size_ms = w->size;
        if (w->type == ED_WIN_HOPPING) pw.advance_ms = w->advance;
      }
      pw.grace_ms = w->grace;
      pw.retention_ms = w->retention;
      ws[i] = pw;
      pv.window = &ws[i];
    }
    vs[i] = pv;
    views[i] = &vs[i];
  }
  Eddy__V1__ViewList l = EDDY__V1__VIEW_LIST__INIT;
  l.n_views = n;
  l.views = views;
  size_t len = eddy__v1__view_list__get_packed_size(&l);
  int rc = ED_OK;
  if (ed_buf_reserve(out, len + 1) != 0) {
    out->failed = 1;
    rc = ED_ENOMEM;
  } else {
    out->len += eddy__v1__view_list__pack(&l, (uint8_t *)out->data + out->len);
    out->data[out->len] = '\0';
  }
  free(mem);
  return rc;
}

int ed_query_exec_views(ed_engine_t *e, ed_query_result_t *res) {
  ed__qres_reset(res, ED__QRES_VIEWS);
  res->engine = e;
  res->status = 200;
  return 200;
}

int ed_query_views(ed_engine_t *e, ed_buf_t *out) {
  ed__query_views_json(e, out);
  return 200;
}
